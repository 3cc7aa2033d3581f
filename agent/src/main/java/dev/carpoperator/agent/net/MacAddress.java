package dev.carpoperator.agent.net;

import java.util.HexFormat;

/** A 48-bit Ethernet address held in the low bits of a long, so it compares and hashes by value. */
public record MacAddress(long value) {
  public static final MacAddress BROADCAST = new MacAddress(0xffff_ffff_ffffL);

  /** 01:00:5e:00:00:12, the Ethernet mapping of 224.0.0.18. */
  public static final MacAddress CARP_IPV4_GROUP = new MacAddress(0x0100_5e00_0012L);

  /** 33:33:00:00:00:12, the Ethernet mapping of ff02::12. */
  public static final MacAddress CARP_IPV6_GROUP = new MacAddress(0x3333_0000_0012L);

  /** 33:33:00:00:00:01, the Ethernet mapping of ff02::1 (all nodes). */
  public static final MacAddress IPV6_ALL_NODES = new MacAddress(0x3333_0000_0001L);

  public MacAddress {
    if ((value & ~0xffff_ffff_ffffL) != 0) {
      throw new IllegalArgumentException(
          "MAC address has more than 48 bits: " + Long.toHexString(value));
    }
  }

  /** The CARP virtual MAC 00:00:5e:00:01:vhid (OpenBSD and FreeBSD use it for IPv4 and IPv6). */
  public static MacAddress virtual(int vhid) {
    if (vhid < 1 || vhid > 255) {
      throw new IllegalArgumentException("vhid must be 1..255, got " + vhid);
    }
    return new MacAddress(0x0000_5e00_0100L | vhid);
  }

  /**
   * The standard Ethernet mapping of an IPv4 (01:00:5e + low 23 bits) or IPv6 (33:33 + low 32 bits)
   * group.
   */
  public static MacAddress forMulticast(java.net.InetAddress group) {
    if (!group.isMulticastAddress()) {
      throw new IllegalArgumentException("not a multicast address: " + group.getHostAddress());
    }
    byte[] a = group.getAddress();
    if (a.length == 4) {
      return new MacAddress(
          0x0100_5e00_0000L | ((a[1] & 0x7fL) << 16) | ((a[2] & 0xffL) << 8) | (a[3] & 0xffL));
    }
    return new MacAddress(
        0x3333_0000_0000L
            | ((a[12] & 0xffL) << 24)
            | ((a[13] & 0xffL) << 16)
            | ((a[14] & 0xffL) << 8)
            | (a[15] & 0xffL));
  }

  public static MacAddress of(byte[] bytes) {
    if (bytes.length != 6) {
      throw new IllegalArgumentException("MAC address needs 6 bytes, got " + bytes.length);
    }
    return read(bytes, 0);
  }

  /** Parses "aa:bb:cc:dd:ee:ff" (also accepts '-' separators). */
  public static MacAddress parse(String text) {
    String[] parts = text.trim().split("[:-]");
    if (parts.length != 6) {
      throw new IllegalArgumentException("not a MAC address: " + text);
    }
    long v = 0;
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 2) {
        throw new IllegalArgumentException("not a MAC address: " + text);
      }
      try {
        v = (v << 8) | Integer.parseInt(p, 16);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a MAC address: " + text, e);
      }
    }
    return new MacAddress(v);
  }

  static MacAddress read(byte[] b, int off) {
    long v = 0;
    for (int i = 0; i < 6; i++) {
      v = (v << 8) | (b[off + i] & 0xff);
    }
    return new MacAddress(v);
  }

  void write(byte[] b, int off) {
    for (int i = 0; i < 6; i++) {
      b[off + i] = (byte) (value >>> (8 * (5 - i)));
    }
  }

  public byte[] bytes() {
    byte[] b = new byte[6];
    write(b, 0);
    return b;
  }

  public boolean isMulticast() {
    return (value & 0x0100_0000_0000L) != 0;
  }

  @Override
  public String toString() {
    return HexFormat.ofDelimiter(":").formatHex(bytes());
  }
}
