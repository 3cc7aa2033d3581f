package dev.carpoperator.agent.carp;

import dev.carpoperator.agent.net.InternetChecksum;

/**
 * Encodes and decodes the 36-byte CARP v2 header (protocols.md §1.2). Pure byte work: no validation
 * policy lives here beyond what is needed to read the bytes (see {@link AdvertValidator} for
 * OpenBSD's checks).
 */
public final class CarpCodec {
  public static final int HEADER_LENGTH = 36;

  /** Version 2 in the high nibble, type 1 (ADVERTISEMENT) in the low nibble. */
  public static final int VERSION_TYPE = 0x21;

  public static final int VERSION = 2;
  public static final int TYPE_ADVERTISEMENT = 1;

  /** counter (8) + digest (20) in 32-bit words. */
  public static final int AUTHLEN = 7;

  static final int OFF_VHID = 1;
  static final int OFF_ADVSKEW = 2;
  static final int OFF_AUTHLEN = 3;
  static final int OFF_DEMOTE = 4;
  static final int OFF_ADVBASE = 5;
  static final int OFF_CKSUM = 6;
  static final int OFF_COUNTER = 8;
  static final int OFF_DIGEST = 16;

  private CarpCodec() {}

  /** Builds the header around an already computed digest, then fills in the checksum. */
  public static byte[] encode(CarpAdvert advert) {
    byte[] out = new byte[HEADER_LENGTH];
    out[0] = (byte) VERSION_TYPE;
    out[OFF_VHID] = (byte) advert.vhid();
    out[OFF_ADVSKEW] = (byte) advert.advskew();
    out[OFF_AUTHLEN] = (byte) AUTHLEN;
    out[OFF_DEMOTE] = (byte) advert.demote();
    out[OFF_ADVBASE] = (byte) advert.advbase();
    putLong(out, OFF_COUNTER, advert.counter());
    System.arraycopy(advert.digest(), 0, out, OFF_DIGEST, CarpAdvert.DIGEST_LENGTH);
    // The checksum is computed last, over the header with the digest in place and the checksum
    // field zero.
    int cksum = InternetChecksum.compute(out, 0, HEADER_LENGTH);
    out[OFF_CKSUM] = (byte) (cksum >>> 8);
    out[OFF_CKSUM + 1] = (byte) cksum;
    return out;
  }

  /**
   * Computes the HMAC for {@code counter} (NOV6LL variant, as OpenBSD sends) and encodes the full
   * header.
   */
  public static byte[] encode(
      int vhid, int advskew, int demote, int advbase, long counter, CarpHmac hmac) {
    if (hmac.vhid() != vhid) {
      throw new IllegalArgumentException(
          "HMAC context is for vhid " + hmac.vhid() + ", not " + vhid);
    }
    return encode(new CarpAdvert(vhid, advskew, demote, advbase, counter, hmac.compute(counter)));
  }

  /**
   * Reads the fields of a header that is known to hold at least 36 bytes from {@code offset}. Does
   * not check version, type, authlen or checksum; callers that face the network use {@link
   * AdvertValidator}.
   *
   * @throws IllegalArgumentException if fewer than 36 bytes are available
   */
  public static CarpAdvert decode(byte[] data, int offset) {
    if (data == null || offset < 0 || data.length - offset < HEADER_LENGTH) {
      throw new IllegalArgumentException("need 36 bytes of CARP header");
    }
    byte[] digest = new byte[CarpAdvert.DIGEST_LENGTH];
    System.arraycopy(data, offset + OFF_DIGEST, digest, 0, digest.length);
    return new CarpAdvert(
        data[offset + OFF_VHID] & 0xff,
        data[offset + OFF_ADVSKEW] & 0xff,
        data[offset + OFF_DEMOTE] & 0xff,
        data[offset + OFF_ADVBASE] & 0xff,
        getLong(data, offset + OFF_COUNTER),
        digest);
  }

  static void putLong(byte[] b, int off, long v) {
    for (int i = 7; i >= 0; i--) {
      b[off + i] = (byte) v;
      v >>>= 8;
    }
  }

  static long getLong(byte[] b, int off) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (b[off + i] & 0xff);
    }
    return v;
  }
}
