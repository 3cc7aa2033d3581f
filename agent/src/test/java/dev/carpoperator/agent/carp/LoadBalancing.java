package dev.carpoperator.agent.carp;

import java.net.InetAddress;

/**
 * Pure bucket functions for load sharing across the vhosts of a {@link VhidOrder}: the tests'
 * specification of what the nftables rules ({@code LoadShareRules}) make the kernel do, so a test
 * can predict which node takes a client (LoadSharingTest checks them against the kernel). Test
 * code: the agent itself leaves the hashing to nftables.
 */
public final class LoadBalancing {
  private LoadBalancing() {}

  /**
   * OpenBSD's IP balancing bucket ({@code carp_lsdrop}): fold = src XOR dst as 32-bit big-endian
   * words (IPv6: XOR of all four words of both addresses), bucket = fold mod count, unsigned.
   * Symmetric in src/dst, so both directions of a flow land in the same bucket.
   */
  public static int ipBucket(InetAddress src, InetAddress dst, int count) {
    checkCount(count);
    byte[] s = src.getAddress();
    byte[] d = dst.getAddress();
    if (s.length != d.length) {
      throw new IllegalArgumentException("source and destination must be the same address family");
    }
    int fold = 0;
    for (int i = 0; i < s.length; i += 4) {
      fold ^= word(s, i) ^ word(d, i);
    }
    return Integer.remainderUnsigned(fold, count);
  }

  /**
   * OpenBSD's keep/drop decision for a non-broadcast, non-multicast packet: keep iff the bucket's
   * bit is set in {@code lsmask} ({@link VhidOrder#mask}).
   */
  public static boolean ipKeep(InetAddress src, InetAddress dst, int lsmask, int count) {
    return (lsmask & (1 << ipBucket(src, dst, count))) != 0;
  }

  /**
   * ARP balancing: which vhost answers an ARP request. We hash the requester's <b>sender hardware
   * address</b> (as OpenBSD's historical ARP balancing did; hashing the sender IP would put all
   * hosts behind one router in one bucket) with Linux's {@code jhash} and scale it to {@code count}
   * buckets with {@code reciprocal_scale}, which is what nftables' {@code jhash <6-byte key> mod
   * count seed <seed>} computes. This is not OpenBSD's byte-exact hash (which was removed and whose
   * key depends on the HMAC state); it only has to agree among our own nodes and with the nftables
   * rule. Checked against the kernel (6.18) in the ARP-balancing netns test.
   */
  public static int arpBucket(byte[] senderMac, int count, int seed) {
    checkCount(count);
    if (senderMac == null || senderMac.length != 6) {
      throw new IllegalArgumentException("sender MAC must be 6 bytes");
    }
    return reciprocalScale(jhash(senderMac, 0, 6, seed), count);
  }

  /**
   * The IP bucket the Linux data plane uses: nftables {@code jhash ip saddr . ip daddr mod count
   * seed seed}, i.e. {@code jhash} over the 8 bytes source-then-destination, {@code
   * reciprocal_scale}d. nftables cannot XOR two fields, so OpenBSD's {@link #ipBucket} is not
   * expressible; this one differs from it and, unlike it, is not symmetric in source and
   * destination (docs/load-sharing.md). Checked against the kernel in the netns tests.
   */
  public static int linuxIpBucket(InetAddress src, InetAddress dst, int count, int seed) {
    checkCount(count);
    byte[] s = src.getAddress();
    byte[] d = dst.getAddress();
    if (s.length != 4 || d.length != 4) {
      throw new IllegalArgumentException("the Linux IP bucket is defined for IPv4 only");
    }
    byte[] key = new byte[8];
    System.arraycopy(s, 0, key, 0, 4);
    System.arraycopy(d, 0, key, 4, 4);
    return reciprocalScale(jhash(key, 0, 8, seed), count);
  }

  /** Linux {@code reciprocal_scale}: maps a 32-bit hash to [0, n) as (hash × n) >> 32. */
  static int reciprocalScale(int hash, int n) {
    return (int) (((hash & 0xffffffffL) * n) >>> 32);
  }

  /**
   * Bob Jenkins' lookup3 hash as Linux's {@code jhash()} computes it (little-endian word reads).
   */
  static int jhash(byte[] k, int off, int length, int initval) {
    int a = 0xdeadbeef + length + initval;
    int b = a;
    int c = a;
    int p = off;
    while (length > 12) {
      a += le32(k, p);
      b += le32(k, p + 4);
      c += le32(k, p + 8);
      // mix(a, b, c)
      a -= c;
      a ^= Integer.rotateLeft(c, 4);
      c += b;
      b -= a;
      b ^= Integer.rotateLeft(a, 6);
      a += c;
      c -= b;
      c ^= Integer.rotateLeft(b, 8);
      b += a;
      a -= c;
      a ^= Integer.rotateLeft(c, 16);
      c += b;
      b -= a;
      b ^= Integer.rotateLeft(a, 19);
      a += c;
      c -= b;
      c ^= Integer.rotateLeft(b, 4);
      b += a;
      p += 12;
      length -= 12;
    }
    if (length == 0) {
      return c;
    }
    // Tail of 1..12 bytes, added bytewise (so independent of CPU endianness).
    for (int i = length - 1; i >= 0; i--) {
      int v = (k[p + i] & 0xff) << (8 * (i % 4));
      if (i >= 8) {
        c += v;
      } else if (i >= 4) {
        b += v;
      } else {
        a += v;
      }
    }
    // final(a, b, c)
    c ^= b;
    c -= Integer.rotateLeft(b, 14);
    a ^= c;
    a -= Integer.rotateLeft(c, 11);
    b ^= a;
    b -= Integer.rotateLeft(a, 25);
    c ^= b;
    c -= Integer.rotateLeft(b, 16);
    a ^= c;
    a -= Integer.rotateLeft(c, 4);
    b ^= a;
    b -= Integer.rotateLeft(a, 14);
    c ^= b;
    c -= Integer.rotateLeft(b, 24);
    return c;
  }

  private static int le32(byte[] k, int p) {
    return (k[p] & 0xff)
        | (k[p + 1] & 0xff) << 8
        | (k[p + 2] & 0xff) << 16
        | (k[p + 3] & 0xff) << 24;
  }

  private static int word(byte[] b, int i) {
    return (b[i] & 0xff) << 24
        | (b[i + 1] & 0xff) << 16
        | (b[i + 2] & 0xff) << 8
        | (b[i + 3] & 0xff);
  }

  private static void checkCount(int count) {
    if (count < 1 || count > VhidOrder.MAX_NODES) {
      throw new IllegalArgumentException("count must be 1.." + VhidOrder.MAX_NODES);
    }
  }
}
