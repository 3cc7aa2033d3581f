package dev.carpoperator.agent.carp;

/**
 * Why a received CARP packet was dropped, in the order {@link AdvertValidator} checks (OpenBSD's
 * order, docs/protocols/carp.md §1.1). A packet with several faults is counted under the first one
 * only.
 */
public enum RejectReason {
  /** TTL / hop limit is not 255: the packet may have been routed here (OpenBSD carps_badttl). */
  BAD_TTL,
  /** Fewer than 36 bytes of CARP payload (carps_badlen). */
  BAD_LENGTH,
  /** The Internet checksum over the 36 header bytes does not fold to zero (carps_badsum). */
  BAD_CHECKSUM,
  /** No vhost with this vhid on the receiving interface (carps_badvhid). */
  UNKNOWN_VHID,
  /** Version nibble is not 2 (carps_badver). Type and authlen are not checked, like OpenBSD. */
  BAD_VERSION,
  /** Neither HMAC variant matches: wrong passphrase or a different address set (carps_badauth). */
  BAD_AUTH,
  /** The counter equals our own replay cookie for this vhid: our own advert came back (a loop). */
  LOOP
}
