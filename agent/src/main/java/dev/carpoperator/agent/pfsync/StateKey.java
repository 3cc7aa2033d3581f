package dev.carpoperator.agent.pfsync;

import java.util.Objects;

/**
 * {@code pfsync_state_key} (40 bytes, docs/protocols/pfsync.md §5). For the packet that created an
 * inbound state, index 0 is its source and index 1 its destination; for an outbound state they are
 * swapped (pf's sidx rule).
 *
 * @param addr0 addr[0]
 * @param addr1 addr[1]
 * @param port0 port[0], 0..65535 (for ICMP the pf virtual port, i.e. the ICMP id)
 * @param port1 port[1]
 * @param rdomain routing domain, 0..65535
 * @param af OpenBSD address family: {@link Pfsync#AF_INET} 2 or {@link Pfsync#AF_INET6} 24 (not
 *     checked here: import policy belongs to the receiver)
 */
public record StateKey(PfAddr addr0, PfAddr addr1, int port0, int port1, int rdomain, int af) {

  public static final StateKey EMPTY = new StateKey(PfAddr.ZERO, PfAddr.ZERO, 0, 0, 0, 0);

  public StateKey {
    Objects.requireNonNull(addr0, "addr0");
    Objects.requireNonNull(addr1, "addr1");
    Checks.u16("port0", port0);
    Checks.u16("port1", port1);
    Checks.u16("rdomain", rdomain);
    Checks.u8("af", af);
  }

  /** addr[i] for i = 0 or 1. */
  public PfAddr addr(int i) {
    return switch (i) {
      case 0 -> addr0;
      case 1 -> addr1;
      default -> throw new IndexOutOfBoundsException(i);
    };
  }

  /** port[i] for i = 0 or 1. */
  public int port(int i) {
    return switch (i) {
      case 0 -> port0;
      case 1 -> port1;
      default -> throw new IndexOutOfBoundsException(i);
    };
  }
}
