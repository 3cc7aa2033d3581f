package dev.carpoperator.agent.pfsync;

/**
 * {@code pfsync_state_peer} (32 bytes, docs/protocols/pfsync.md §5): one side's TCP tracking and
 * scrub data. The u32 fields are kept as Java ints holding the unsigned bit pattern (sequence
 * numbers compare by subtraction anyway).
 *
 * @param pfssFlags scrub pfss_flags, u16; only {@link Pfsync#PFSS_TIMESTAMP} is exported
 * @param pfssTtl scrub pfss_ttl, u8
 * @param scrubFlag u8; {@link Pfsync#PFSYNC_SCRUB_FLAG_VALID} or 0 (the scrub block is then
 *     ignored)
 * @param pfssTsMod TCP timestamp modulation offset, u32
 * @param seqlo highest sequence number sent, u32
 * @param seqhi highest sequence number the peer's window allows, u32
 * @param seqdiff ISN modulation offset, u32
 * @param maxWin largest unscaled window seen, u16
 * @param mss u16
 * @param state {@link PfPeerState} value, u8
 * @param wscale u8: {@link Pfsync#PF_WSCALE_FLAG} | shift
 */
public record StatePeer(
    int pfssFlags,
    int pfssTtl,
    int scrubFlag,
    int pfssTsMod,
    int seqlo,
    int seqhi,
    int seqdiff,
    int maxWin,
    int mss,
    int state,
    int wscale) {

  public static final StatePeer EMPTY = new StatePeer(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  public StatePeer {
    Checks.u16("pfssFlags", pfssFlags);
    Checks.u8("pfssTtl", pfssTtl);
    Checks.u8("scrubFlag", scrubFlag);
    Checks.u16("maxWin", maxWin);
    Checks.u16("mss", mss);
    Checks.u8("state", state);
    Checks.u8("wscale", wscale);
  }

  /** A peer without scrub data: the common case. */
  public static StatePeer of(
      int state, int seqlo, int seqhi, int seqdiff, int maxWin, int mss, int wscale) {
    return new StatePeer(0, 0, 0, 0, seqlo, seqhi, seqdiff, maxWin, mss, state, wscale);
  }

  public boolean scrubValid() {
    return (scrubFlag & Pfsync.PFSYNC_SCRUB_FLAG_VALID) != 0;
  }

  public boolean windowScaleSeen() {
    return (wscale & Pfsync.PF_WSCALE_FLAG) != 0;
  }

  public int windowScaleShift() {
    return wscale & Pfsync.PF_WSCALE_MASK;
  }
}
