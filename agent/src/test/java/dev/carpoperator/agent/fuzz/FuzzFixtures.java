package dev.carpoperator.agent.fuzz;

import dev.carpoperator.agent.carp.CarpCodec;
import dev.carpoperator.agent.carp.CarpHmac;
import dev.carpoperator.agent.carp.VhostKeys;
import dev.carpoperator.agent.net.MacAddress;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;

/**
 * What the fuzz targets and their seed corpus share: the vhosts a receiver knows (so a seed built
 * here passes every check and mutations of it reach the later ones) and the Ethernet header put in
 * front of fuzzed IP packets. Only TEST-NET and documentation addresses.
 */
final class FuzzFixtures {
  private FuzzFixtures() {}

  static final String PASSWORD = "fuzz-password";
  static final InetAddress VIP4 = literal("192.0.2.100");
  static final InetAddress VIP6 = literal("2001:db8::100");
  static final Inet4Address PEER4 = (Inet4Address) literal("192.0.2.2");
  static final Inet6Address PEER6 = (Inet6Address) literal("fe80::2");
  static final MacAddress PEER_MAC = MacAddress.parse("02:00:00:00:00:02");

  /**
   * vhid 1 holds an IPv4 address, vhid 2 an IPv6 one; any other vhid is unknown to the receiver.
   */
  static final CarpHmac HMAC1 = CarpHmac.of(PASSWORD, 1, List.of(VIP4));

  static final CarpHmac HMAC2 = CarpHmac.of(PASSWORD, 2, List.of(VIP6));

  /**
   * The receiver's own replay cookie for both vhids (an advert carrying it is rejected as LOOP).
   */
  static final long OUR_COOKIE = 0x0123456789abcdefL;

  static final VhostKeys KEYS1 = new VhostKeys(HMAC1, OUR_COOKIE);
  static final VhostKeys KEYS2 = new VhostKeys(HMAC2, OUR_COOKIE);

  static VhostKeys keys(int vhid) {
    return vhid == 1 ? KEYS1 : vhid == 2 ? KEYS2 : null;
  }

  /** A valid advert from the peer: vhid 1 or 2, as a sender with the password would encode it. */
  static byte[] advert(int vhid, int advskew, int demote, int advbase, long counter) {
    return CarpCodec.encode(vhid, advskew, demote, advbase, counter, vhid == 1 ? HMAC1 : HMAC2);
  }

  /**
   * An Ethernet header for {@code ip}: IPv6 when its version nibble says 6, else IPv4 (the parser
   * checks the rest).
   */
  static byte[] frame(byte[] ip) {
    byte[] f = new byte[14 + ip.length];
    boolean v6 = ip.length > 0 && (ip[0] & 0xf0) == 0x60;
    MacAddress dst = v6 ? MacAddress.CARP_IPV6_GROUP : MacAddress.CARP_IPV4_GROUP;
    System.arraycopy(dst.bytes(), 0, f, 0, 6);
    System.arraycopy(PEER_MAC.bytes(), 0, f, 6, 6);
    f[12] = (byte) (v6 ? 0x86 : 0x08);
    f[13] = (byte) (v6 ? 0xdd : 0x00);
    System.arraycopy(ip, 0, f, 14, ip.length);
    return f;
  }

  /** The IP packet of a frame built by {@code CarpFrames} (drops the 14-byte Ethernet header). */
  static byte[] ipOf(byte[] frame) {
    return Arrays.copyOfRange(frame, 14, frame.length);
  }

  static InetAddress literal(String s) {
    return InetAddress.ofLiteral(s);
  }
}
