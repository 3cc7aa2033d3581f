package dev.carpoperator.operator.service;

import dev.carpoperator.api.v1alpha1.AddressPoolStatus;
import java.math.BigInteger;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/** Counts of a pool's addresses for its status: assigned to Services and still free. Pure. */
final class PoolUsage {
  private PoolUsage() {}

  private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

  /**
   * {@code holders}: every Service VirtualAddress; {@code handWritten}: addresses of the others.
   * Overlapping entries in one pool are counted twice in the size (an unusual pool; the allocator
   * still never hands an address out twice).
   */
  static AddressPoolStatus of(
      PoolAllocator.Pool pool, Collection<PoolAllocator.Holder> holders, Set<String> handWritten) {
    Set<String> assigned = new HashSet<>();
    for (PoolAllocator.Holder h : holders)
      if (pool.name().equals(h.pool())) assigned.addAll(h.ips());
    Set<String> used = new HashSet<>(handWritten);
    for (PoolAllocator.Holder h : holders) used.addAll(h.ips());
    AddressPoolStatus s = new AddressPoolStatus();
    s.setAssignedIPv4(assigned.stream().filter(ip -> !IpText.isIpv6(ip)).count());
    s.setAssignedIPv6(assigned.stream().filter(IpText::isIpv6).count());
    s.setAvailableIPv4(available(pool, used, false));
    s.setAvailableIPv6(available(pool, used, true));
    return s;
  }

  private static long available(PoolAllocator.Pool pool, Set<String> used, boolean v6) {
    BigInteger size = BigInteger.ZERO;
    for (AddressRange r : pool.ranges()) {
      if (r.ipv6() != v6) continue;
      size = size.add(r.last().subtract(r.first()).add(BigInteger.ONE));
      if (!v6 && pool.avoidBuggy()) size = size.subtract(BigInteger.valueOf(buggy(r)));
    }
    long inPool =
        used.stream()
            .filter(ip -> IpText.isIpv6(ip) == v6)
            .filter(ip -> pool.contains(ip))
            .filter(ip -> !(pool.avoidBuggy() && !v6 && isBuggy(ip)))
            .count();
    return size.subtract(BigInteger.valueOf(inPool)).max(BigInteger.ZERO).min(LONG_MAX).longValue();
  }

  /** IPv4 addresses of the range ending in .0 or .255. */
  static long buggy(AddressRange r) {
    long a = r.first().longValue();
    long b = r.last().longValue();
    return below(b + 1, 0) - below(a, 0) + below(b + 1, 255) - below(a, 255);
  }

  /** How many x in [0, n) have x mod 256 == rest. */
  private static long below(long n, int rest) {
    return n / 256 + (n % 256 > rest ? 1 : 0);
  }

  private static boolean isBuggy(String ip) {
    int last = Integer.parseInt(ip.substring(ip.lastIndexOf('.') + 1));
    return last == 0 || last == 255;
  }
}
