package dev.carpoperator.agent.pfsync;

/**
 * OpenBSD PFSTATE_* bits of pfsync_state.state_flags (u16) (docs/protocols/pfsync.md §6).
 * pfsync_upd_c carries only the low byte.
 */
public final class PfStateFlags {
  public static final int ALLOWOPTS = 0x0001;
  public static final int SLOPPY = 0x0002;
  public static final int PFLOW = 0x0004;
  public static final int NOSYNC = 0x0008;

  /** The sender asks for an immediate INS_ACK (deferral). */
  public static final int ACK = 0x0010;

  public static final int NODF = 0x0020;
  public static final int SETTOS = 0x0040;
  public static final int RANDOMID = 0x0080;
  public static final int SCRUB_TCP = 0x0100;
  public static final int SETPRIO = 0x0200;
  public static final int INP_UNLINKED = 0x0400;

  private PfStateFlags() {}
}
