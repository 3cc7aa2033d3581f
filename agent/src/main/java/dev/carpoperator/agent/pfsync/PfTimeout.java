package dev.carpoperator.agent.pfsync;

import java.util.Optional;

/**
 * OpenBSD PFTM_* timeout classes: the index carried in pfsync_state.timeout and
 * pfsync_upd_c.timeout, with pf's default values (docs/protocols/pfsync.md §6). ADAPTIVE_START/END
 * are state counts, not seconds. OpenBSD's PFTM_MAX is 20; FreeBSD indices of 20 and above (SCTP
 * and internal classes) have no OpenBSD meaning.
 */
public enum PfTimeout {
  TCP_FIRST_PACKET(0, 120),
  TCP_OPENING(1, 30),
  TCP_ESTABLISHED(2, 86400),
  TCP_CLOSING(3, 900),
  TCP_FIN_WAIT(4, 45),
  TCP_CLOSED(5, 90),
  UDP_FIRST_PACKET(6, 60),
  UDP_SINGLE(7, 30),
  UDP_MULTIPLE(8, 60),
  ICMP_FIRST_PACKET(9, 20),
  ICMP_ERROR_REPLY(10, 10),
  OTHER_FIRST_PACKET(11, 60),
  OTHER_SINGLE(12, 30),
  OTHER_MULTIPLE(13, 60),
  FRAG(14, 60),
  INTERVAL(15, 10),
  ADAPTIVE_START(16, 60000),
  ADAPTIVE_END(17, 120000),
  SRC_NODE(18, 0),
  TS_DIFF(19, 30);

  /** OpenBSD PFTM_MAX: the number of classes. */
  public static final int MAX = 20;

  /** OpenBSD's default state limit (PFSTATE_HIWAT). */
  public static final int PFSTATE_HIWAT = 100000;

  private static final PfTimeout[] BY_INDEX = values();

  private final int index;
  private final int defaultValue;

  PfTimeout(int index, int defaultValue) {
    this.index = index;
    this.defaultValue = defaultValue;
  }

  public int index() {
    return index;
  }

  /** Default in seconds (in states for ADAPTIVE_START/END). */
  public int defaultValue() {
    return defaultValue;
  }

  /** The class for a wire index, empty for indices OpenBSD does not define. */
  public static Optional<PfTimeout> fromIndex(int index) {
    return index >= 0 && index < MAX ? Optional.of(BY_INDEX[index]) : Optional.empty();
  }
}
