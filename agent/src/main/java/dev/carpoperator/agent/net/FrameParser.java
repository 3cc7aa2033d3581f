package dev.carpoperator.agent.net;

import dev.carpoperator.agent.carp.InternetChecksum;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Parses Ethernet (optionally one 802.1Q tag) → IPv4/IPv6. Pure, never throws, and trusts no length
 * field: every length is checked against the bytes actually captured. The IP payload (the CARP
 * header) is not decoded. IPv6 extension headers are not walked: {@code protocol} is the fixed
 * header's next-header field, which is 112 for CARP as OpenBSD sends it.
 */
public final class FrameParser {
  private FrameParser() {}

  public enum Family {
    IPV4,
    IPV6
  }

  public enum Reason {
    FRAME_TOO_SHORT,
    VLAN_TRUNCATED,
    NOT_IP,
    IPV4_TRUNCATED,
    IPV4_BAD_VERSION,
    IPV4_BAD_HEADER_LENGTH,
    IPV4_BAD_TOTAL_LENGTH,
    IPV4_BAD_CHECKSUM,
    IPV4_FRAGMENT,
    IPV6_TRUNCATED,
    IPV6_BAD_VERSION,
    IPV6_BAD_PAYLOAD_LENGTH
  }

  public sealed interface Result permits Packet, Rejected {}

  /** A frame that was rejected, and why (one counter per reason is the intended use). */
  public record Rejected(Reason reason) implements Result {}

  /**
   * A parsed IP packet. The payload is a view into {@code frame} at {@code [payloadOffset,
   * +payloadLength)}; Ethernet padding after the IP datagram is excluded. {@code vlanId} is -1 when
   * untagged.
   */
  public record Packet(
      Family family,
      MacAddress srcMac,
      MacAddress dstMac,
      int vlanId,
      int hopLimit,
      InetAddress src,
      InetAddress dst,
      int protocol,
      byte[] frame,
      int payloadOffset,
      int payloadLength)
      implements Result {
    /** A copy of the IP payload. */
    public byte[] payload() {
      return Arrays.copyOfRange(frame, payloadOffset, payloadOffset + payloadLength);
    }

    @Override
    public String toString() {
      return "Packet["
          + family
          + " "
          + srcMac
          + " -> "
          + dstMac
          + (vlanId >= 0 ? " vlan " + vlanId : "")
          + " "
          + src.getHostAddress()
          + " -> "
          + dst.getHostAddress()
          + " proto "
          + protocol
          + " ttl "
          + hopLimit
          + " payload "
          + payloadLength
          + "]";
    }
  }

  public static Result parse(byte[] f) {
    if (f == null) {
      return new Rejected(Reason.FRAME_TOO_SHORT);
    }
    return parse(f, f.length);
  }

  /** Parses the first {@code length} bytes of {@code f} (a reusable buffer). */
  public static Result parse(byte[] f, int length) {
    if (f == null || length < 14 || length > f.length) {
      return new Rejected(Reason.FRAME_TOO_SHORT);
    }
    MacAddress dstMac = MacAddress.read(f, 0);
    MacAddress srcMac = MacAddress.read(f, 6);
    int type = u16(f, 12);
    int off = 14;
    int vlan = -1;
    if (type == CarpFrames.ETHERTYPE_VLAN) {
      if (length < 18) {
        return new Rejected(Reason.VLAN_TRUNCATED);
      }
      vlan = u16(f, 14) & 0x0fff;
      type = u16(f, 16);
      off = 18;
    }
    return switch (type) {
      case CarpFrames.ETHERTYPE_IPV4 -> ipv4(f, off, length, srcMac, dstMac, vlan);
      case CarpFrames.ETHERTYPE_IPV6 -> ipv6(f, off, length, srcMac, dstMac, vlan);
      default -> new Rejected(Reason.NOT_IP);
    };
  }

  private static Result ipv4(
      byte[] f, int ip, int end, MacAddress srcMac, MacAddress dstMac, int vlan) {
    int avail = end - ip;
    if (avail < 20) {
      return new Rejected(Reason.IPV4_TRUNCATED);
    }
    if ((f[ip] & 0xf0) != 0x40) {
      return new Rejected(Reason.IPV4_BAD_VERSION);
    }
    int hlen = (f[ip] & 0x0f) * 4;
    if (hlen < 20 || hlen > avail) {
      return new Rejected(Reason.IPV4_BAD_HEADER_LENGTH);
    }
    int total = u16(f, ip + 2);
    if (total < hlen || total > avail) {
      return new Rejected(Reason.IPV4_BAD_TOTAL_LENGTH);
    }
    if (InternetChecksum.compute(f, ip, hlen) != 0) {
      return new Rejected(Reason.IPV4_BAD_CHECKSUM);
    }
    if ((u16(f, ip + 6) & 0x3fff) != 0) { // MF set or non-zero offset; CARP is never fragmented
      return new Rejected(Reason.IPV4_FRAGMENT);
    }
    return new Packet(
        Family.IPV4,
        srcMac,
        dstMac,
        vlan,
        f[ip + 8] & 0xff,
        address(f, ip + 12, 4),
        address(f, ip + 16, 4),
        f[ip + 9] & 0xff,
        f,
        ip + hlen,
        total - hlen);
  }

  private static Result ipv6(
      byte[] f, int ip, int end, MacAddress srcMac, MacAddress dstMac, int vlan) {
    int avail = end - ip;
    if (avail < 40) {
      return new Rejected(Reason.IPV6_TRUNCATED);
    }
    if ((f[ip] & 0xf0) != 0x60) {
      return new Rejected(Reason.IPV6_BAD_VERSION);
    }
    int plen = u16(f, ip + 4);
    if (plen > avail - 40) {
      return new Rejected(Reason.IPV6_BAD_PAYLOAD_LENGTH);
    }
    return new Packet(
        Family.IPV6,
        srcMac,
        dstMac,
        vlan,
        f[ip + 7] & 0xff,
        address6(f, ip + 8),
        address6(f, ip + 24),
        f[ip + 6] & 0xff,
        f,
        ip + 40,
        plen);
  }

  private static int u16(byte[] f, int off) {
    return ((f[off] & 0xff) << 8) | (f[off + 1] & 0xff);
  }

  /**
   * Always an Inet6Address, even for ::ffff:a.b.c.d (InetAddress.getByAddress would return an
   * Inet4Address).
   */
  private static InetAddress address6(byte[] f, int off) {
    try {
      return java.net.Inet6Address.getByAddress(null, Arrays.copyOfRange(f, off, off + 16), -1);
    } catch (UnknownHostException e) {
      throw new AssertionError("16 bytes are always valid", e);
    }
  }

  private static InetAddress address(byte[] f, int off, int len) {
    try {
      return InetAddress.getByAddress(Arrays.copyOfRange(f, off, off + len));
    } catch (UnknownHostException e) {
      throw new AssertionError("4 or 16 bytes are always valid", e);
    }
  }
}
