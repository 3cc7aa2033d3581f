package dev.carpoperator.agent.carp;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Receive-side checks for one interface, in OpenBSD's order (docs/protocols/carp.md §1.1): TTL 255
 * → length ≥ 36 → checksum → vhid known → version 2 → HMAC → not our own cookie. Each rejection is
 * counted by its first failing reason.
 *
 * <p>Like OpenBSD, {@code type} and {@code authlen} are not checked (OpenBSD has no such check, and
 * a stricter receiver would gain nothing: the HMAC covers the meaningful fields anyway). There is
 * no counter-monotonicity check (see {@link ReplayCookie}). Bytes after the 36-byte header are
 * ignored.
 *
 * <p>Never throws on packet contents: any payload, including null or empty, yields a result.
 * Thread-safe if the vhost lookup is.
 */
public final class AdvertValidator {
  private static final Map<RejectReason, ValidationResult.Rejected> REJECTIONS =
      new EnumMap<>(RejectReason.class);

  static {
    for (RejectReason r : RejectReason.values()) {
      REJECTIONS.put(r, new ValidationResult.Rejected(r));
    }
  }

  private final IntFunction<VhostKeys> vhosts;
  private final RejectionCounters counters;

  /**
   * @param vhosts vhid → keys of the vhost configured on this interface, or null if there is none
   * @param counters where to count; may be shared across interfaces
   */
  public AdvertValidator(IntFunction<VhostKeys> vhosts, RejectionCounters counters) {
    this.vhosts = vhosts;
    this.counters = counters;
  }

  public ValidationResult validate(InboundPacket packet) {
    if (packet.hopLimit() != CarpAdvert.TTL) {
      return reject(RejectReason.BAD_TTL);
    }
    byte[] p = packet.payload();
    if (p == null || p.length < CarpCodec.HEADER_LENGTH) {
      return reject(RejectReason.BAD_LENGTH);
    }
    if (!InternetChecksum.verify(p, 0, CarpCodec.HEADER_LENGTH)) {
      return reject(RejectReason.BAD_CHECKSUM);
    }
    VhostKeys keys = vhosts.apply(p[CarpCodec.OFF_VHID] & 0xff);
    if (keys == null) {
      return reject(RejectReason.UNKNOWN_VHID);
    }
    if (((p[0] & 0xff) >>> 4) != CarpCodec.VERSION) {
      return reject(RejectReason.BAD_VERSION);
    }
    long counter = CarpCodec.getLong(p, CarpCodec.OFF_COUNTER);
    if (!keys.hmac().verify(counter, p, CarpCodec.OFF_DIGEST)) {
      return reject(RejectReason.BAD_AUTH);
    }
    if (counter == keys.replayCookie()) {
      return reject(RejectReason.LOOP);
    }
    counters.accept();
    return new ValidationResult.Accepted(CarpCodec.decode(p, 0), packet.source());
  }

  public RejectionCounters counters() {
    return counters;
  }

  private ValidationResult reject(RejectReason reason) {
    counters.reject(reason);
    return REJECTIONS.get(reason);
  }
}
