package dev.carpoperator.agent.net;

import dev.carpoperator.agent.carp.CarpAdvert;
import dev.carpoperator.agent.carp.InternetChecksum;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds complete Ethernet frames carrying a CARP advert (IP protocol 112). Pure: no I/O. The
 * 36-byte CARP header is someone else's codec; here it is an opaque payload. IP-layer values follow
 * docs/protocols/carp.md §1.1: TTL/hop limit 255, IPv4 TOS 0x10, DF, random id.
 */
public final class CarpFrames {
  public static final int ETHERTYPE_IPV4 = 0x0800;
  public static final int ETHERTYPE_ARP = 0x0806;
  public static final int ETHERTYPE_IPV6 = 0x86dd;
  public static final int ETHERTYPE_VLAN = 0x8100;
  public static final int IPPROTO_CARP = 112;
  public static final int IPPROTO_ICMPV6 = 58;

  /** TTL / hop limit of every CARP and pfsync packet: {@link CarpAdvert#TTL}. */
  public static final int TTL = CarpAdvert.TTL;

  public static final int CARP_TOS = 0x10;

  /** Keeps frames within a 1500-byte MTU. */
  public static final int MAX_IPV4_PAYLOAD = 1500 - 20;

  public static final int MAX_IPV6_PAYLOAD = 1500 - 40;

  public static final Inet4Address CARP_GROUP_V4 = (Inet4Address) literal("224.0.0.18");
  public static final Inet6Address CARP_GROUP_V6 = (Inet6Address) literal("ff02::12");

  private CarpFrames() {}

  /** IPv4 advert to 224.0.0.18 (dst MAC 01:00:5e:00:00:12) with a random IP id. */
  public static byte[] ipv4Multicast(MacAddress srcMac, Inet4Address src, byte[] carp) {
    return ipv4(
        srcMac,
        MacAddress.CARP_IPV4_GROUP,
        src,
        CARP_GROUP_V4,
        ThreadLocalRandom.current().nextInt(0x10000),
        carp);
  }

  /**
   * IPv4 advert with every field chosen by the caller (unicast {@code carppeer}: the peer's IP and
   * MAC). {@code ipId} is the 16-bit identification; tests pass a fixed one, senders a random one.
   */
  public static byte[] ipv4(
      MacAddress srcMac,
      MacAddress dstMac,
      Inet4Address src,
      Inet4Address dst,
      int ipId,
      byte[] carp) {
    return ipv4(srcMac, dstMac, src, dst, ipId, IPPROTO_CARP, carp);
  }

  /**
   * An IPv4 frame as CARP and pfsync send them (TTL 255, TOS lowdelay, DF) for any IP protocol. The
   * payload may exceed 1480 bytes on a link with a larger MTU; the caller sizes it.
   */
  public static byte[] ipv4(
      MacAddress srcMac,
      MacAddress dstMac,
      Inet4Address src,
      Inet4Address dst,
      int ipId,
      int protocol,
      byte[] carp) {
    if (carp.length > 0xffff - 20) {
      throw new IllegalArgumentException("payload too long: " + carp.length);
    }
    byte[] f = new byte[14 + 20 + carp.length];
    ethernet(f, dstMac, srcMac, ETHERTYPE_IPV4);
    int ip = 14;
    int total = 20 + carp.length;
    f[ip] = 0x45; // version 4, IHL 5 (no options)
    f[ip + 1] = (byte) CARP_TOS;
    put16(f, ip + 2, total);
    put16(f, ip + 4, ipId & 0xffff);
    put16(f, ip + 6, 0x4000); // DF, fragment offset 0
    f[ip + 8] = (byte) TTL;
    f[ip + 9] = (byte) protocol;
    System.arraycopy(src.getAddress(), 0, f, ip + 12, 4);
    System.arraycopy(dst.getAddress(), 0, f, ip + 16, 4);
    put16(f, ip + 10, InternetChecksum.compute(f, ip, 20));
    System.arraycopy(carp, 0, f, ip + 20, carp.length);
    return f;
  }

  /**
   * IPv6 advert to ff02::12 (dst MAC 33:33:00:00:00:12). OpenBSD always sends IPv6 adverts to the
   * group.
   */
  public static byte[] ipv6Multicast(MacAddress srcMac, Inet6Address src, byte[] carp) {
    return ipv6(srcMac, MacAddress.CARP_IPV6_GROUP, src, CARP_GROUP_V6, carp);
  }

  public static byte[] ipv6(
      MacAddress srcMac, MacAddress dstMac, Inet6Address src, Inet6Address dst, byte[] carp) {
    if (carp.length > MAX_IPV6_PAYLOAD) {
      throw new IllegalArgumentException("payload too long: " + carp.length);
    }
    byte[] f = new byte[14 + 40 + carp.length];
    ethernet(f, dstMac, srcMac, ETHERTYPE_IPV6);
    ipv6Header(f, 14, carp.length, IPPROTO_CARP, src, dst);
    System.arraycopy(carp, 0, f, 14 + 40, carp.length);
    return f;
  }

  static void ethernet(byte[] f, MacAddress dst, MacAddress src, int etherType) {
    dst.write(f, 0);
    src.write(f, 6);
    put16(f, 12, etherType);
  }

  /** Version 6, traffic class 0, flow label 0, hop limit 255. */
  static void ipv6Header(
      byte[] f, int off, int payloadLength, int nextHeader, Inet6Address src, Inet6Address dst) {
    f[off] = 0x60;
    put16(f, off + 4, payloadLength);
    f[off + 6] = (byte) nextHeader;
    f[off + 7] = (byte) TTL;
    System.arraycopy(src.getAddress(), 0, f, off + 8, 16);
    System.arraycopy(dst.getAddress(), 0, f, off + 24, 16);
  }

  static void put16(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 8);
    b[off + 1] = (byte) v;
  }

  static InetAddress literal(String s) {
    try {
      return InetAddress.getByName(s); // a literal: no DNS lookup
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
