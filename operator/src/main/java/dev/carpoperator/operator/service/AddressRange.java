package dev.carpoperator.operator.service;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.Set;

/**
 * One entry of an AddressPool: a CIDR (every address in it) or a first-last range, as MetalLB
 * writes them. Pure: parsing and arithmetic only.
 */
record AddressRange(boolean ipv6, BigInteger first, BigInteger last) {

  /** Parses {@code 192.0.2.240/28} or {@code 192.0.2.240-192.0.2.250}; a clear message if bad. */
  static AddressRange parse(String text) {
    String s = text.strip();
    try {
      int dash = s.indexOf('-');
      if (dash > 0) {
        InetAddress a = literal(s.substring(0, dash));
        InetAddress b = literal(s.substring(dash + 1));
        if (a.getClass() != b.getClass())
          throw new IllegalArgumentException(text + ": both ends of a range must be one family");
        BigInteger first = value(a);
        BigInteger last = value(b);
        if (first.compareTo(last) > 0)
          throw new IllegalArgumentException(text + ": the range ends before it starts");
        return new AddressRange(!(a instanceof Inet4Address), first, last);
      }
      int slash = s.indexOf('/');
      if (slash < 0)
        throw new IllegalArgumentException(text + ": expected a CIDR or a first-last range");
      InetAddress a = literal(s.substring(0, slash));
      int bits = a.getAddress().length * 8;
      int length = Integer.parseInt(s.substring(slash + 1));
      if (length < 0 || length > bits)
        throw new IllegalArgumentException(text + ": prefix length must be 0-" + bits);
      BigInteger hostMask = BigInteger.ONE.shiftLeft(bits - length).subtract(BigInteger.ONE);
      BigInteger first = value(a).andNot(hostMask);
      return new AddressRange(!(a instanceof Inet4Address), first, first.or(hostMask));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(text + ": not a CIDR or range", e);
    }
  }

  boolean contains(InetAddress a) {
    BigInteger v = value(a);
    return (a instanceof Inet4Address) != ipv6 && v.compareTo(first) >= 0 && v.compareTo(last) <= 0;
  }

  /**
   * The lowest address not in {@code used} (canonical texts), skipping .0 and .255 when {@code
   * avoidBuggy}. Walks at most {@code used.size() + 2 * 256} candidates per call for the skips, so
   * a huge IPv6 range costs no more than a small one.
   */
  Optional<String> firstFree(Set<String> used, boolean avoidBuggy) {
    BigInteger v = first;
    long budget = used.size() + 512L;
    while (v.compareTo(last) <= 0 && budget-- > 0) {
      String text = IpText.of(address(v));
      boolean buggy = avoidBuggy && !ipv6 && (v.intValue() & 0xff) % 255 == 0;
      if (!buggy && !used.contains(text)) return Optional.of(text);
      v = v.add(BigInteger.ONE);
    }
    return Optional.empty();
  }

  private InetAddress address(BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[ipv6 ? 16 : 4];
    int n = Math.min(raw.length, out.length);
    System.arraycopy(raw, raw.length - n, out, out.length - n, n);
    try {
      return InetAddress.getByAddress(out);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // cannot happen: the length is 4 or 16
    }
  }

  static BigInteger value(InetAddress a) {
    return new BigInteger(1, a.getAddress());
  }

  static InetAddress literal(String s) {
    try {
      return InetAddress.ofLiteral(s.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(s.strip() + " is not an IP address", e);
    }
  }
}
