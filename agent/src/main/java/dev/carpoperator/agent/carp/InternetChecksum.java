package dev.carpoperator.agent.carp;

/**
 * RFC 1071 ones'-complement Internet checksum. CARP sums only its own 36 bytes, with no
 * pseudo-header.
 */
public final class InternetChecksum {
  private InternetChecksum() {}

  /**
   * Returns the 16-bit checksum to put on the wire over {@code data[offset, offset+length)}. An odd
   * trailing byte is padded with zero, as RFC 1071 says. Summing a range whose checksum field is
   * already filled in yields 0 when the checksum is correct.
   */
  public static int compute(byte[] data, int offset, int length) {
    long sum = 0;
    int i = offset;
    int end = offset + length;
    for (; i + 1 < end; i += 2) {
      sum += ((data[i] & 0xff) << 8) | (data[i + 1] & 0xff);
    }
    if (i < end) {
      sum += (data[i] & 0xff) << 8;
    }
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xffff) + (sum >>> 16);
    }
    return (int) (~sum & 0xffff);
  }

  /**
   * True if the range, checksum field included, sums to 0xffff (i.e. {@link #compute} returns 0).
   */
  public static boolean verify(byte[] data, int offset, int length) {
    return compute(data, offset, length) == 0;
  }
}
