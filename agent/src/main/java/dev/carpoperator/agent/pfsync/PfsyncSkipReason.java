package dev.carpoperator.agent.pfsync;

/**
 * Why one section of an otherwise valid packet was stepped over (len x 4 x count bytes) and not
 * decoded.
 */
public enum PfsyncSkipReason {
  /** An action code OpenBSD v6 does not define (16 and above). */
  UNKNOWN_ACTION,
  /**
   * A code OpenBSD v6 defines but no longer sends or never implemented: OINS, OUPD, INS_F, DEL_F,
   * OTDB, EOF.
   */
  OBSOLETE_ACTION,
  /** The per-message len is shorter than the struct the action needs (OpenBSD skips these too). */
  SHORT_LENGTH
}
