package dev.carpoperator.operator.service;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * Addresses as text in one canonical form (RFC 5952 for IPv6: lower case, the longest run of zero
 * groups compressed), so that an address written by a user and one computed from a range compare
 * equal. Java's own {@code getHostAddress} never compresses.
 */
final class IpText {
  private IpText() {}

  static String of(InetAddress a) {
    if (a instanceof Inet4Address) return a.getHostAddress();
    byte[] b = a.getAddress();
    int[] g = new int[8];
    for (int i = 0; i < 8; i++) g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    int bestStart = -1, bestLen = 0;
    for (int i = 0; i < 8; ) {
      if (g[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < 8 && g[j] == 0) j++;
      if (j - i > bestLen && j - i >= 2) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        sb.append("::");
        i += bestLen - 1;
        continue;
      }
      if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') sb.append(':');
      sb.append(Integer.toHexString(g[i]));
    }
    return sb.toString();
  }

  /** The canonical text of a literal; IllegalArgumentException with the text when it is none. */
  static String of(String literal) {
    return of(AddressRange.literal(literal));
  }

  static boolean isIpv6(String canonical) {
    return canonical.indexOf(':') >= 0;
  }
}
