package dev.carpoperator.agent.net;

import dev.carpoperator.agent.carp.InternetChecksum;
import java.net.Inet4Address;
import java.net.Inet6Address;

/**
 * Frames a new master sends so that neighbours update their ARP / neighbour caches for a VIP. Pure:
 * no I/O.
 */
public final class AnnouncementFrames {
  /**
   * All-nodes group ff02::1, destination of unsolicited neighbour advertisements (RFC 4861 §7.2.6).
   */
  public static final Inet6Address ALL_NODES = (Inet6Address) CarpFrames.literal("ff02::1");

  /** Ethernet minimum without FCS; software interfaces don't pad, real NICs would. */
  static final int MIN_FRAME = 60;

  private AnnouncementFrames() {}

  /**
   * Gratuitous ARP request (RFC 5227 announcement form): broadcast, sender IP = target IP = VIP,
   * sender hardware address = {@code mac}, target hardware address zero. Padded to 60 bytes.
   */
  public static byte[] gratuitousArp(MacAddress mac, Inet4Address vip) {
    return gratuitousArp(mac, mac, vip);
  }

  /**
   * Gratuitous ARP whose sender hardware address ({@code sender}) differs from the frame's source
   * MAC: load sharing announces a group MAC that must never appear as an Ethernet source (switches
   * would learn it).
   */
  public static byte[] gratuitousArp(MacAddress ethSource, MacAddress sender, Inet4Address vip) {
    MacAddress mac = sender;
    byte[] f = new byte[MIN_FRAME];
    CarpFrames.ethernet(f, MacAddress.BROADCAST, ethSource, CarpFrames.ETHERTYPE_ARP);
    int a = 14;
    CarpFrames.put16(f, a, 1); // hardware type Ethernet
    CarpFrames.put16(f, a + 2, CarpFrames.ETHERTYPE_IPV4);
    f[a + 4] = 6;
    f[a + 5] = 4;
    CarpFrames.put16(f, a + 6, 1); // request
    mac.write(f, a + 8);
    System.arraycopy(vip.getAddress(), 0, f, a + 14, 4);
    // target hardware address (a+18..a+23) stays zero
    System.arraycopy(vip.getAddress(), 0, f, a + 24, 4);
    return f;
  }

  /**
   * Unsolicited neighbour advertisement to ff02::1: ICMPv6 type 136, Override set, Solicited clear,
   * Router as given, target = VIP, with a target link-layer address option carrying {@code mac}.
   * {@code src} should be an address of the sending interface (its link-local one, or the VIP
   * itself).
   */
  public static byte[] unsolicitedNa(
      MacAddress mac, Inet6Address src, Inet6Address vip, boolean router) {
    int icmpLen = 4 + 4 + 16 + 8;
    byte[] f = new byte[14 + 40 + icmpLen];
    CarpFrames.ethernet(f, MacAddress.IPV6_ALL_NODES, mac, CarpFrames.ETHERTYPE_IPV6);
    CarpFrames.ipv6Header(f, 14, icmpLen, CarpFrames.IPPROTO_ICMPV6, src, ALL_NODES);
    int i = 14 + 40;
    f[i] = (byte) 136;
    f[i + 4] = (byte) ((router ? 0x80 : 0) | 0x20);
    System.arraycopy(vip.getAddress(), 0, f, i + 8, 16);
    f[i + 24] = 2; // option: target link-layer address
    f[i + 25] = 1; // length in units of 8 bytes
    mac.write(f, i + 26);
    CarpFrames.put16(
        f,
        i + 2,
        InternetChecksum.ipv6Upper(
            src.getAddress(), ALL_NODES.getAddress(), CarpFrames.IPPROTO_ICMPV6, f, i, icmpLen));
    return f;
  }
}
