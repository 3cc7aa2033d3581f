package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.carp.InternetChecksum;
import dev.carpoperator.agent.net.FrameParser.Packet;
import dev.carpoperator.agent.net.FrameParser.Reason;
import dev.carpoperator.agent.net.FrameParser.Rejected;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FrameParserTest {
  static final MacAddress VMAC = MacAddress.virtual(9);

  static byte[] v4() throws Exception {
    return CarpFrames.ipv4(
        VMAC,
        MacAddress.CARP_IPV4_GROUP,
        FramesTest.ip("203.0.113.5"),
        CarpFrames.CARP_GROUP_V4,
        77,
        FramesTest.carpPayload());
  }

  static byte[] v6() throws Exception {
    return CarpFrames.ipv6Multicast(VMAC, FramesTest.ip("fe80::5"), FramesTest.carpPayload());
  }

  static Reason reason(byte[] f) {
    return ((Rejected) FrameParser.parse(f)).reason();
  }

  /** Rewrites the IPv4 header checksum so that a deliberately broken field is the only defect. */
  static byte[] fixV4Checksum(byte[] f, int ip) {
    int hlen = Math.min((f[ip] & 0x0f) * 4, f.length - ip);
    f[ip + 10] = 0;
    f[ip + 11] = 0;
    CarpFrames.put16(f, ip + 10, InternetChecksum.compute(f, ip, hlen));
    return f;
  }

  @Test
  void parsesIpv4Advert() throws Exception {
    Packet p = (Packet) FrameParser.parse(v4());
    assertThat(p.family()).isEqualTo(FrameParser.Family.IPV4);
    assertThat(p.srcMac()).isEqualTo(VMAC);
    assertThat(p.dstMac()).isEqualTo(MacAddress.CARP_IPV4_GROUP);
    assertThat(p.vlanId()).isEqualTo(-1);
    assertThat(p.hopLimit()).isEqualTo(255);
    assertThat(p.protocol()).isEqualTo(112);
    assertThat(p.src()).isEqualTo(InetAddress.getByName("203.0.113.5"));
    assertThat(p.dst()).isEqualTo(CarpFrames.CARP_GROUP_V4);
    assertThat(p.payload()).isEqualTo(FramesTest.carpPayload());
    assertThat(p.payloadLength()).isEqualTo(36);
  }

  @Test
  void parsesIpv6Advert() throws Exception {
    Packet p = (Packet) FrameParser.parse(v6());
    assertThat(p.family()).isEqualTo(FrameParser.Family.IPV6);
    assertThat(p.hopLimit()).isEqualTo(255);
    assertThat(p.protocol()).isEqualTo(112);
    assertThat(p.src()).isEqualTo(InetAddress.getByName("fe80::5"));
    assertThat(p.dst()).isEqualTo(CarpFrames.CARP_GROUP_V6);
    assertThat(p.dstMac()).isEqualTo(MacAddress.CARP_IPV6_GROUP);
    assertThat(p.payload()).isEqualTo(FramesTest.carpPayload());
  }

  @Test
  void ipv4MappedSourceStaysIpv6() throws Exception {
    byte[] f = v6();
    byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 1};
    System.arraycopy(mapped, 0, f, 14 + 8, 16);
    assertThat(((Packet) FrameParser.parse(f)).src()).isInstanceOf(Inet6Address.class);
  }

  @Test
  void oneVlanTagIsSkipped() throws Exception {
    byte[] plain = v4();
    byte[] tagged = new byte[plain.length + 4];
    System.arraycopy(plain, 0, tagged, 0, 12);
    tagged[12] = (byte) 0x81;
    tagged[13] = 0;
    tagged[14] = (byte) 0x20; // PCP 1, VLAN 42
    tagged[15] = 42;
    System.arraycopy(plain, 12, tagged, 16, plain.length - 12);
    Packet p = (Packet) FrameParser.parse(tagged);
    assertThat(p.vlanId()).isEqualTo(42);
    assertThat(p.payload()).isEqualTo(FramesTest.carpPayload());
    assertThat(reason(Arrays.copyOf(tagged, 16))).isEqualTo(Reason.VLAN_TRUNCATED);
  }

  @Test
  void ethernetPaddingIsNotPayload() throws Exception {
    byte[] f =
        CarpFrames.ipv4(
            VMAC,
            MacAddress.CARP_IPV4_GROUP,
            FramesTest.ip("203.0.113.5"),
            CarpFrames.CARP_GROUP_V4,
            1,
            new byte[4]);
    byte[] padded = Arrays.copyOf(f, 60);
    assertThat(((Packet) FrameParser.parse(padded)).payloadLength()).isEqualTo(4);
  }

  @Test
  void optionsAreSkippedUsingIhl() throws Exception {
    byte[] f = v4();
    byte[] withOpts = new byte[f.length + 4];
    System.arraycopy(f, 0, withOpts, 0, 34);
    System.arraycopy(f, 34, withOpts, 38, f.length - 34);
    withOpts[14] = 0x46;
    CarpFrames.put16(withOpts, 16, 60);
    fixV4Checksum(withOpts, 14);
    Packet p = (Packet) FrameParser.parse(withOpts);
    assertThat(p.payload()).isEqualTo(FramesTest.carpPayload());
  }

  @Test
  void rejectsWithReasons() throws Exception {
    assertThat(reason(null)).isEqualTo(Reason.FRAME_TOO_SHORT);
    assertThat(reason(new byte[13])).isEqualTo(Reason.FRAME_TOO_SHORT);
    assertThat(reason(AnnouncementFrames.gratuitousArp(VMAC, FramesTest.ip("192.0.2.1"))))
        .isEqualTo(Reason.NOT_IP);
    assertThat(reason(Arrays.copyOf(v4(), 33))).isEqualTo(Reason.IPV4_TRUNCATED);

    byte[] badVersion = v4();
    badVersion[14] = 0x65;
    assertThat(reason(badVersion)).isEqualTo(Reason.IPV4_BAD_VERSION);

    byte[] smallIhl = v4();
    smallIhl[14] = 0x44;
    assertThat(reason(smallIhl)).isEqualTo(Reason.IPV4_BAD_HEADER_LENGTH);

    byte[] hugeIhl = Arrays.copyOf(v4(), 14 + 40); // IHL 15 = 60 bytes > 40 captured
    hugeIhl[14] = 0x4f;
    assertThat(reason(hugeIhl)).isEqualTo(Reason.IPV4_BAD_HEADER_LENGTH);

    byte[] longTotal = v4();
    CarpFrames.put16(longTotal, 16, 57);
    assertThat(reason(fixV4Checksum(longTotal, 14))).isEqualTo(Reason.IPV4_BAD_TOTAL_LENGTH);

    byte[] shortTotal = v4();
    CarpFrames.put16(shortTotal, 16, 19);
    assertThat(reason(fixV4Checksum(shortTotal, 14))).isEqualTo(Reason.IPV4_BAD_TOTAL_LENGTH);

    byte[] badSum = v4();
    badSum[14 + 8] = 64; // TTL changed, checksum not updated
    assertThat(reason(badSum)).isEqualTo(Reason.IPV4_BAD_CHECKSUM);

    byte[] fragment = v4();
    CarpFrames.put16(fragment, 14 + 6, 0x2000);
    assertThat(reason(fixV4Checksum(fragment, 14))).isEqualTo(Reason.IPV4_FRAGMENT);

    assertThat(reason(Arrays.copyOf(v6(), 14 + 39))).isEqualTo(Reason.IPV6_TRUNCATED);
    byte[] badV6 = v6();
    badV6[14] = 0x40;
    assertThat(reason(badV6)).isEqualTo(Reason.IPV6_BAD_VERSION);
    assertThat(reason(Arrays.copyOf(v6(), 14 + 40 + 35))).isEqualTo(Reason.IPV6_BAD_PAYLOAD_LENGTH);
  }

  @Test
  void lengthArgumentBoundsTheFrame() throws Exception {
    byte[] f = v4();
    assertThat(FrameParser.parse(f, f.length + 1)).isInstanceOf(Rejected.class);
    assertThat(((Rejected) FrameParser.parse(f, 40)).reason())
        .isEqualTo(Reason.IPV4_BAD_TOTAL_LENGTH);
  }

  @Test
  void neverThrowsOnMutatedOrRandomInput() throws Exception {
    SplittableRandom rnd = new SplittableRandom(112);
    byte[][] seeds = {
      v4(),
      v6(),
      AnnouncementFrames.unsolicitedNa(
          VMAC, FramesTest.ip("fe80::1"), FramesTest.ip("2001:db8::1"), true)
    };
    for (int i = 0; i < 200_000; i++) {
      byte[] f;
      if (i % 3 == 0) {
        f = new byte[rnd.nextInt(0, 120)];
        rnd.nextBytes(f);
        if (f.length > 13 && rnd.nextBoolean()) {
          CarpFrames.put16(f, 12, rnd.nextBoolean() ? 0x0800 : 0x86dd);
        }
      } else {
        byte[] s = seeds[rnd.nextInt(seeds.length)];
        f = Arrays.copyOf(s, rnd.nextInt(0, s.length + 8));
        for (int k = rnd.nextInt(1, 4); k > 0 && f.length > 0; k--) {
          f[rnd.nextInt(f.length)] = (byte) rnd.nextInt(256);
        }
      }
      FrameParser.Result r = FrameParser.parse(f);
      if (r instanceof Packet p) {
        assertThat(p.payloadOffset() + p.payloadLength()).isLessThanOrEqualTo(f.length);
        p.payload();
      }
    }
  }
}
