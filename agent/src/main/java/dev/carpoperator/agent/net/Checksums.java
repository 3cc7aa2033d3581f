package dev.carpoperator.agent.net;

/** RFC 1071 ones'-complement sums for IPv4 headers and ICMPv6 (with its IPv6 pseudo-header). */
final class Checksums {
  private Checksums() {}

  /**
   * Adds 16-bit big-endian words of {@code b[off, off+len)} to {@code sum}; an odd last byte is
   * zero-padded.
   */
  static long add(long sum, byte[] b, int off, int len) {
    int i = off;
    int end = off + len;
    for (; i + 1 < end; i += 2) {
      sum += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
    }
    if (i < end) {
      sum += (b[i] & 0xff) << 8;
    }
    return sum;
  }

  static int fold(long sum) {
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xffff) + (sum >>> 16);
    }
    return (int) (~sum & 0xffff);
  }

  static int internet(byte[] b, int off, int len) {
    return fold(add(0, b, off, len));
  }

  /**
   * Checksum of an upper-layer IPv6 message (RFC 8200 §8.1 pseudo-header: src, dst, length, next
   * header).
   */
  static int ipv6Upper(byte[] src16, byte[] dst16, int nextHeader, byte[] b, int off, int len) {
    long sum = add(0, src16, 0, 16);
    sum = add(sum, dst16, 0, 16);
    sum += (len >>> 16) & 0xffff;
    sum += len & 0xffff;
    sum += nextHeader & 0xff;
    return fold(add(sum, b, off, len));
  }
}
