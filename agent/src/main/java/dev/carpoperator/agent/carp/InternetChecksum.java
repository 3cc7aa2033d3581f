package dev.carpoperator.agent.carp;

/**
 * RFC 1071 ones'-complement Internet checksum: the one implementation for the IPv4 header, the CARP
 * header (its own 36 bytes, no pseudo-header) and ICMPv6 (with its IPv6 pseudo-header).
 */
public final class InternetChecksum {
  private InternetChecksum() {}

  /**
   * Returns the 16-bit checksum to put on the wire over {@code data[offset, offset+length)}. An odd
   * trailing byte is padded with zero, as RFC 1071 says. Summing a range whose checksum field is
   * already filled in yields 0 when the checksum is correct.
   */
  public static int compute(byte[] data, int offset, int length) {
    return fold(add(0, data, offset, length));
  }

  /**
   * True if the range, checksum field included, sums to 0xffff (i.e. {@link #compute} returns 0).
   */
  public static boolean verify(byte[] data, int offset, int length) {
    return compute(data, offset, length) == 0;
  }

  /**
   * Checksum of an upper-layer IPv6 message (RFC 8200 §8.1 pseudo-header: src, dst, length, next
   * header).
   */
  public static int ipv6Upper(
      byte[] src16, byte[] dst16, int nextHeader, byte[] data, int offset, int length) {
    long sum = add(0, src16, 0, 16);
    sum = add(sum, dst16, 0, 16);
    sum += (length >>> 16) & 0xffff;
    sum += length & 0xffff;
    sum += nextHeader & 0xff;
    return fold(add(sum, data, offset, length));
  }

  /**
   * Adds the 16-bit big-endian words of {@code data[offset, offset+length)} to {@code sum}; an odd
   * last byte is zero-padded.
   */
  static long add(long sum, byte[] data, int offset, int length) {
    int i = offset;
    int end = offset + length;
    for (; i + 1 < end; i += 2) {
      sum += ((data[i] & 0xff) << 8) | (data[i + 1] & 0xff);
    }
    if (i < end) {
      sum += (data[i] & 0xff) << 8;
    }
    return sum;
  }

  static int fold(long sum) {
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xffff) + (sum >>> 16);
    }
    return (int) (~sum & 0xffff);
  }
}
