package dev.carpoperator.agent.pfsync;

/**
 * Values of pfsync_state_peer.state (docs/protocols/pfsync.md §6). TCP peers use the BSD TCPS_*
 * numbers plus pf's synproxy states; UDP and other protocols use a three-step traffic state.
 */
public final class PfPeerState {
  public static final int TCPS_CLOSED = 0;
  public static final int TCPS_LISTEN = 1;
  public static final int TCPS_SYN_SENT = 2;
  public static final int TCPS_SYN_RECEIVED = 3;
  public static final int TCPS_ESTABLISHED = 4;
  public static final int TCPS_CLOSE_WAIT = 5;
  public static final int TCPS_FIN_WAIT_1 = 6;
  public static final int TCPS_CLOSING = 7;
  public static final int TCPS_LAST_ACK = 8;
  public static final int TCPS_FIN_WAIT_2 = 9;
  public static final int TCPS_TIME_WAIT = 10;
  public static final int PF_TCPS_PROXY_SRC = 11;
  public static final int PF_TCPS_PROXY_DST = 12;

  /** UDP (PFUDPS_*) and other protocols (PFOTHERS_*). */
  public static final int NO_TRAFFIC = 0;

  public static final int SINGLE = 1;
  public static final int MULTIPLE = 2;

  private PfPeerState() {}
}
