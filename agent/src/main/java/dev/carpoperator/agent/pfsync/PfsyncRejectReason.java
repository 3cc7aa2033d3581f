package dev.carpoperator.agent.pfsync;

/** Why a whole pfsync payload was dropped, in the order {@link PfsyncDecoder} checks. */
public enum PfsyncRejectReason {
  /** Fewer than 20 bytes, header len below 20 or beyond the received bytes, or no buffer at all. */
  BAD_LENGTH,
  /**
   * Header version 5: a FreeBSD peer. Its sections are not OpenBSD's (docs/protocols/pfsync.md
   * §12); refused whole.
   */
  FREEBSD_VERSION,
  /** Any version other than 6 and 5. */
  BAD_VERSION,
  /**
   * A subheader, or the count x len x 4 bytes it announces, runs past the header's len. The whole
   * packet is dropped, including sections before the bad one (OpenBSD would already have applied
   * those).
   */
  TRUNCATED
}
