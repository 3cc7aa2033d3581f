package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.carp.InternetChecksum;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Byte-exact expectations were produced by an independent Python script (struct + RFC 1071 sum).
 */
class FramesTest {
  static final HexFormat HEX = HexFormat.of();
  static final MacAddress VMAC7 = MacAddress.virtual(7);
  static final MacAddress NIC = MacAddress.parse("02:00:00:00:00:01");

  static byte[] carpPayload() {
    byte[] p = new byte[36];
    byte[] head = {0x21, 7, 0, 7, 0, 1, 0, 0};
    System.arraycopy(head, 0, p, 0, head.length);
    for (int i = 0; i < 28; i++) {
      p[8 + i] = (byte) i;
    }
    return p;
  }

  static <T extends InetAddress> T ip(String literal) throws Exception {
    @SuppressWarnings("unchecked")
    T a = (T) InetAddress.getByName(literal);
    return a;
  }

  @Test
  void ipv4AdvertIsByteExact() throws Exception {
    byte[] f =
        CarpFrames.ipv4(
            VMAC7,
            MacAddress.CARP_IPV4_GROUP,
            ip("192.0.2.1"),
            CarpFrames.CARP_GROUP_V4,
            0x1234,
            carpPayload());
    assertThat(HEX.formatHex(f))
        .isEqualTo(
            "01005e00001200005e00010708004510003812344000ff70c6fdc0000201e0000012"
                + "2107000700010000000102030405060708090a0b0c0d0e0f101112131415161718191a1b");
    assertThat(f).hasSize(70);
  }

  @Test
  void ipv4MulticastUsesGroupAndRandomId() throws Exception {
    Inet4Address src = ip("192.0.2.1");
    byte[] a = CarpFrames.ipv4Multicast(VMAC7, src, carpPayload());
    var p = (FrameParser.Packet) FrameParser.parse(a);
    assertThat(p.dstMac()).isEqualTo(MacAddress.CARP_IPV4_GROUP);
    assertThat(p.dst()).isEqualTo(CarpFrames.CARP_GROUP_V4);
    assertThat(p.hopLimit()).isEqualTo(255);
  }

  @Test
  void ipv6AdvertIsByteExact() throws Exception {
    byte[] f = CarpFrames.ipv6Multicast(VMAC7, ip("fe80::1"), carpPayload());
    assertThat(HEX.formatHex(f))
        .isEqualTo(
            "33330000001200005e00010786dd60000000002470fffe800000000000000000000000000001"
                + "ff020000000000000000000000000012"
                + "2107000700010000000102030405060708090a0b0c0d0e0f101112131415161718191a1b");
    assertThat(f).hasSize(90);
  }

  @Test
  void gratuitousArpIsByteExact() throws Exception {
    byte[] f = AnnouncementFrames.gratuitousArp(NIC, ip("198.51.100.7"));
    assertThat(HEX.formatHex(f))
        .isEqualTo(
            "ffffffffffff02000000000108060001080006040001020000000001c6336407000000000000c6336407"
                + "000000000000000000000000000000000000");
  }

  @Test
  void gratuitousArpCanNameAnotherMacThanItsSource() throws Exception {
    // load sharing: sent from the NIC, announcing the group MAC 01:00:5e:00:01:03
    byte[] f =
        AnnouncementFrames.gratuitousArp(
            NIC, MacAddress.parse("01:00:5e:00:01:03"), ip("198.51.100.7"));
    assertThat(HEX.formatHex(f))
        .isEqualTo(
            "ffffffffffff02000000000108060001080006040001"
                + "01005e000103"
                + "c6336407000000000000c6336407"
                + "000000000000000000000000000000000000");
  }

  @Test
  void unsolicitedNaIsByteExact() throws Exception {
    byte[] f = AnnouncementFrames.unsolicitedNa(NIC, ip("fe80::2"), ip("2001:db8::7"), false);
    assertThat(HEX.formatHex(f))
        .isEqualTo(
            "33330000000102000000000186dd6000000000203afffe800000000000000000000000000002"
                + "ff020000000000000000000000000001"
                + "8800285c2000000020010db80000000000000000000000070201020000000001");
  }

  @Test
  void routerFlagIsSetAndChecksumStillVerifies() throws Exception {
    Inet6Address src = ip("fe80::2");
    byte[] f = AnnouncementFrames.unsolicitedNa(NIC, src, ip("2001:db8::7"), true);
    assertThat(f[54 + 4] & 0xff).isEqualTo(0xa0);
    // a correct checksum makes the sum over pseudo-header + message fold to zero
    assertThat(
            InternetChecksum.ipv6Upper(
                src.getAddress(), AnnouncementFrames.ALL_NODES.getAddress(), 58, f, 54, 32))
        .isZero();
  }

  @Test
  void macAddressHelpers() throws Exception {
    assertThat(MacAddress.virtual(255).toString()).isEqualTo("00:00:5e:00:01:ff");
    assertThat(MacAddress.forMulticast(CarpFrames.CARP_GROUP_V4))
        .isEqualTo(MacAddress.CARP_IPV4_GROUP);
    assertThat(MacAddress.forMulticast(CarpFrames.CARP_GROUP_V6))
        .isEqualTo(MacAddress.CARP_IPV6_GROUP);
    assertThat(MacAddress.forMulticast(ip("239.129.1.2")).toString())
        .isEqualTo("01:00:5e:01:01:02");
    assertThat(MacAddress.parse("01:00:5E:00:00:12").isMulticast()).isTrue();
    assertThat(MacAddress.of(NIC.bytes())).isEqualTo(NIC);
    assertThatThrownBy(() -> MacAddress.virtual(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MacAddress.parse("00:11:22:33:44"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
