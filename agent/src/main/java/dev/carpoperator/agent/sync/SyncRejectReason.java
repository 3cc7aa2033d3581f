package dev.carpoperator.agent.sync;

import java.util.Locale;

/**
 * Why {@link SyncPacketValidator} dropped a received sync packet, in the order it checks; counted
 * under {@link #label()} in {@link SyncCounters#packetRejected} (the {@code reason} of the metric
 * carp_sync_packets_rejected). The pfsync contents are checked later, by the sync core.
 */
public enum SyncRejectReason {
  /** TTL is not 255: the packet was routed, so it is not from the sync link. */
  BAD_TTL,
  /** Unicast peers are configured and the source is not one of them. */
  UNKNOWN_PEER,
  /** Authenticated mode: the pfsync header's len does not lie within the payload. */
  BAD_LENGTH,
  /**
   * No envelope: an unauthenticated (bsd-compatible) sender ({@link
   * SyncEnvelope.Failure#NO_TRAILER}).
   */
  UNAUTHENTICATED,
  BAD_MAGIC,
  BAD_VERSION,
  /** The envelope of an older agent (version 1). */
  OLD_VERSION,
  /** The sender encrypts and we do not, or the other way round. */
  ENCRYPTION_MISMATCH,
  /** Authentication failed: a different key, or forged. */
  BAD_TAG,
  /** Authentic, but sent outside the freshness window: replayed, or the clocks disagree. */
  STALE;

  /** The metric label: the name in lower case. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  static SyncRejectReason of(SyncEnvelope.Failure failure) {
    return switch (failure) {
      case NO_TRAILER -> UNAUTHENTICATED;
      case BAD_MAGIC -> BAD_MAGIC;
      case BAD_VERSION -> BAD_VERSION;
      case OLD_VERSION -> OLD_VERSION;
      case ENCRYPTION_MISMATCH -> ENCRYPTION_MISMATCH;
      case BAD_TAG -> BAD_TAG;
      case STALE -> STALE;
    };
  }
}
