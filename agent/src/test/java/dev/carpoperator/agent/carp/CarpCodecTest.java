package dev.carpoperator.agent.carp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.net.InternetChecksum;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CarpCodecTest {

  @Test
  void checksumRfc1071Example() {
    // RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2, checksum is its complement.
    byte[] data = HexFormat.of().parseHex("0001f203f4f5f6f7");
    assertThat(InternetChecksum.compute(data, 0, data.length)).isEqualTo(~0xddf2 & 0xffff);
  }

  @Test
  void checksumOddLengthPadsWithZero() {
    assertThat(InternetChecksum.compute(new byte[] {0x12, 0x34, 0x56}, 0, 3))
        .isEqualTo(InternetChecksum.compute(new byte[] {0x12, 0x34, 0x56, 0}, 0, 4));
    assertThat(InternetChecksum.compute(new byte[0], 0, 0)).isEqualTo(0xffff);
  }

  @Test
  void checksumRespectsOffsetAndVerifiesFilledIn() {
    Random rnd = new Random(7);
    for (int i = 0; i < 200; i++) {
      byte[] b = new byte[2 + 2 * rnd.nextInt(30)];
      rnd.nextBytes(b);
      b[0] = 0;
      b[1] = 0;
      int c = InternetChecksum.compute(b, 0, b.length);
      b[0] = (byte) (c >>> 8);
      b[1] = (byte) c;
      assertThat(InternetChecksum.verify(b, 0, b.length)).isTrue();
      byte[] shifted = new byte[b.length + 3];
      System.arraycopy(b, 0, shifted, 3, b.length);
      assertThat(InternetChecksum.verify(shifted, 3, b.length)).isTrue();
    }
  }

  @Test
  void encodeDecodeRoundTrip() {
    Random rnd = new Random(11);
    for (int i = 0; i < 500; i++) {
      byte[] digest = new byte[20];
      rnd.nextBytes(digest);
      CarpAdvert a =
          new CarpAdvert(
              rnd.nextInt(256),
              rnd.nextInt(256),
              rnd.nextInt(256),
              rnd.nextInt(256),
              rnd.nextLong(),
              digest);
      byte[] wire = CarpCodec.encode(a);
      assertThat(wire).hasSize(36);
      assertThat(wire[0]).isEqualTo((byte) 0x21);
      assertThat(wire[3]).isEqualTo((byte) 7);
      assertThat(InternetChecksum.verify(wire, 0, 36)).isTrue();
      assertThat(CarpCodec.decode(wire, 0)).isEqualTo(a);
    }
  }

  @Test
  void counterHighWordFirst() {
    byte[] wire = CarpCodec.encode(new CarpAdvert(1, 0, 0, 1, 0x0102030405060708L, new byte[20]));
    assertThat(HexFormat.of().formatHex(wire, 8, 16)).isEqualTo("0102030405060708");
  }

  @Test
  void decodeRefusesShortInput() {
    assertThatThrownBy(() -> CarpCodec.decode(new byte[35], 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> CarpCodec.decode(new byte[36], 1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void advertCopiesDigest() {
    byte[] d = new byte[20];
    CarpAdvert a = new CarpAdvert(1, 0, 0, 1, 0, d);
    d[0] = 1;
    assertThat(a.digest()[0]).isZero();
    a.digest()[1] = 1;
    assertThat(a.digest()[1]).isZero();
    assertThatThrownBy(() -> new CarpAdvert(256, 0, 0, 1, 0, d))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
