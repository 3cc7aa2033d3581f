package dev.carpoperator.agent.carp;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The fields of one CARP advertisement (36-byte header, docs/protocols/carp.md §1.2), without the
 * fixed version/type/authlen.
 *
 * @param vhid virtual host id, 1..255 (0 is only seen in malformed packets)
 * @param advskew 0..255 (255 only in bow-out adverts)
 * @param demote OpenBSD's demotion count in byte 4 (FreeBSD/ucarp send 0 there)
 * @param advbase base interval in seconds, 0..255
 * @param counter the 8-byte counter: high 32 bits are counter[0], low 32 bits counter[1]
 * @param digest 20-byte HMAC-SHA1 (defensively copied)
 */
public record CarpAdvert(
    int vhid, int advskew, int demote, int advbase, long counter, byte[] digest) {
  /**
   * TTL / hop limit of every CARP and pfsync packet. Receivers drop any other value: a packet that
   * was routed is not from this link (OpenBSD carps_badttl, pfsync's ttl check).
   */
  public static final int TTL = 255;

  public static final int DIGEST_LENGTH = 20;

  public CarpAdvert {
    checkByte("vhid", vhid);
    checkByte("advskew", advskew);
    checkByte("demote", demote);
    checkByte("advbase", advbase);
    if (digest == null || digest.length != DIGEST_LENGTH) {
      throw new IllegalArgumentException("digest must be 20 bytes");
    }
    digest = digest.clone();
  }

  @Override
  public byte[] digest() {
    return digest.clone();
  }

  /** The advertised interval in 1/256 s units: advbase*256 + advskew; exact, no rounding. */
  public int tv256() {
    return advbase * 256 + advskew;
  }

  /**
   * True for the advbase 255 / advskew 255 advert OpenBSD sends when a vhost goes down
   * administratively.
   */
  public boolean isBowOut() {
    return advbase == 255 && advskew == 255;
  }

  static void checkByte(String name, int v) {
    if (v < 0 || v > 255) {
      throw new IllegalArgumentException(name + " must be 0..255, was " + v);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CarpAdvert a
        && vhid == a.vhid
        && advskew == a.advskew
        && demote == a.demote
        && advbase == a.advbase
        && counter == a.counter
        && Arrays.equals(digest, a.digest);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(counter) * 31
        + Arrays.hashCode(digest)
        + vhid * 7
        + advskew * 11
        + advbase * 13
        + demote;
  }

  @Override
  public String toString() {
    return "CarpAdvert[vhid="
        + vhid
        + ", advskew="
        + advskew
        + ", demote="
        + demote
        + ", advbase="
        + advbase
        + ", counter="
        + String.format("%016x", counter)
        + ", digest="
        + HexFormat.of().formatHex(digest)
        + "]";
  }
}
