package dev.carpoperator.agent.carp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.net.InternetChecksum;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CarpHmacTest {
  private static final HexFormat HEX = HexFormat.of();

  static List<InetAddress> addrs(String... names) {
    List<InetAddress> out = new ArrayList<>();
    for (String n : names) {
      try {
        out.add(InetAddress.getByName(n)); // literals only: no DNS lookups
      } catch (Exception e) {
        throw new IllegalArgumentException(n, e);
      }
    }
    return out;
  }

  /** protocols.md §2.8: all four vectors, HMAC and full header, byte for byte. */
  @ParameterizedTest(name = "vector {0}")
  @CsvSource(
      delimiter = ';',
      value = {
        "1;secret;1;192.168.1.10 10.0.0.1;0123456789abcdef;0;b9270f7264dfb21b1f40bf26df714b3b4dd65a5b;210100070001aff60123456789abcdefb9270f7264dfb21b1f40bf26df714b3b4dd65a5b",
        "2;secret;1;10.0.0.1;0123456789abcdef;100;dd14fd71e57a54757f6eabab699172fb3aa50a3f;2101640700017bce0123456789abcdefdd14fd71e57a54757f6eabab699172fb3aa50a3f",
        "3;secret;7;2001:db8::1;1122334455667788;0;5d68b6e322f68e111b5e642707c8855cc4b5e368;210700070001537f11223344556677885d68b6e322f68e111b5e642707c8855cc4b5e368",
        "4;0123456789abcdefghijXYZ;1;10.0.0.1;0000000000000001;0;fd2f9a5f5b9e04684e891704e0af8bfbf2630ab2;21010007000118110000000000000001fd2f9a5f5b9e04684e891704e0af8bfbf2630ab2",
      })
  void testVectors(
      int n,
      String pass,
      int vhid,
      String addresses,
      String counterHex,
      int advskew,
      String hmacHex,
      String headerHex) {
    long counter = HexFormat.fromHexDigitsToLong(counterHex);
    CarpHmac hmac = CarpHmac.of(pass, vhid, addrs(addresses.split(" ")));

    assertThat(HEX.formatHex(hmac.compute(counter))).isEqualTo(hmacHex);
    byte[] header = CarpCodec.encode(vhid, advskew, 0, 1, counter, hmac);
    assertThat(HEX.formatHex(header)).isEqualTo(headerHex);
    assertThat(InternetChecksum.verify(header, 0, header.length)).isTrue();
    assertThat(hmac.verify(counter, header, CarpCodec.OFF_DIGEST)).isTrue();
    assertThat(hmac.verify(counter + 1, header, CarpCodec.OFF_DIGEST)).isFalse();
  }

  @Test
  void vector1IsIndependentOfAddressOrderAndDuplicates() {
    CarpHmac a = CarpHmac.of("secret", 1, addrs("192.168.1.10", "10.0.0.1"));
    CarpHmac b = CarpHmac.of("secret", 1, addrs("10.0.0.1", "192.168.1.10", "10.0.0.1"));
    assertThat(b.compute(0x0123456789abcdefL)).isEqualTo(a.compute(0x0123456789abcdefL));
  }

  @Test
  void keyIsFirst19BytesZeroPadded() {
    assertThat(CarpHmac.keyFromPassphrase("0123456789abcdefghijXYZ"))
        .isEqualTo("0123456789abcdefghi\0".getBytes());
    assertThat(CarpHmac.keyFromPassphrase("ab")).hasSize(20).startsWith('a', 'b', 0);
    assertThat(CarpHmac.keyFromPassphrase(null)).containsOnly(0);
    assertThat(CarpHmac.keyFromPassphrase("")).containsOnly(0);
  }

  @Test
  void ipv4SortedAsUnsignedNumbersThenIpv6Bytewise() {
    CarpHmac h =
        CarpHmac.of(
            "x", 9, addrs("2001:db8::2", "200.0.0.1", "10.0.0.1", "2001:db8::1", "ff00::1"));
    assertThat(HEX.formatHex(h.messagePrefix(CarpHmac.Variant.NOV6LL)))
        .isEqualTo(
            "0201"
                + "09"
                + "0a000001"
                + "c8000001"
                + "20010db8000000000000000000000001"
                + "20010db8000000000000000000000002"
                + "ff000000000000000000000000000001");
  }

  @Test
  void linkLocalOnlyInOrigVariantWithScopeBytesZeroed() throws Exception {
    // Java drops the scope id from getAddress(); put junk in bytes 2-3 to stand in for KAME's
    // embedded scope.
    byte[] ll = InetAddress.getByName("fe80::1").getAddress();
    ll[2] = 0x00;
    ll[3] = 0x05;
    InetAddress withScope = InetAddress.getByAddress(ll);
    CarpHmac h =
        new CarpHmac(
            CarpHmac.keyFromPassphrase("x"),
            null,
            3,
            List.of(
                withScope,
                InetAddress.getByName("2001:db8::1"),
                InetAddress.getByName("ff02::12")));
    assertThat(HEX.formatHex(h.messagePrefix(CarpHmac.Variant.ORIG)))
        .isEqualTo(
            "020103"
                + "20010db8000000000000000000000001"
                + "fe800000000000000000000000000001"
                + "ff020000000000000000000000000012");
    assertThat(HEX.formatHex(h.messagePrefix(CarpHmac.Variant.NOV6LL)))
        .isEqualTo("020103" + "20010db8000000000000000000000001");

    // A peer that hashes the link-locals (FreeBSD, or OpenBSD's ORIG) is accepted, as is NOV6LL.
    long counter = 42;
    assertThat(h.verify(counter, h.compute(counter, CarpHmac.Variant.ORIG), 0)).isTrue();
    assertThat(h.verify(counter, h.compute(counter, CarpHmac.Variant.NOV6LL), 0)).isTrue();
    assertThat(h.compute(counter)).isEqualTo(h.compute(counter, CarpHmac.Variant.NOV6LL));
    assertThat(h.compute(counter, CarpHmac.Variant.ORIG)).isNotEqualTo(h.compute(counter));
  }

  @Test
  void lladdrIsHashedAfterTypeBeforeVhid() {
    byte[] mac = HEX.parseHex("020000aabbcc");
    CarpHmac h = new CarpHmac(CarpHmac.keyFromPassphrase("x"), mac, 4, addrs("10.0.0.1"));
    assertThat(HEX.formatHex(h.messagePrefix(CarpHmac.Variant.NOV6LL)))
        .isEqualTo("0201020000aabbcc040a000001");
  }

  /** The precomputed-state shortcut must equal plain RFC 2104 HMAC-SHA1 on arbitrary inputs. */
  @Test
  void matchesJdkMacOnRandomInputs() throws Exception {
    long seed = new Random().nextLong();
    Random rnd = new Random(seed);
    for (int i = 0; i < 300; i++) {
      byte[] key = new byte[20];
      int keyLen = rnd.nextInt(20);
      for (int k = 0; k < keyLen; k++) {
        key[k] = (byte) (1 + rnd.nextInt(255));
      }
      int vhid = 1 + rnd.nextInt(255);
      List<InetAddress> list = new ArrayList<>();
      int n = rnd.nextInt(5);
      for (int k = 0; k < n; k++) {
        byte[] b = new byte[rnd.nextBoolean() ? 4 : 16];
        rnd.nextBytes(b);
        list.add(InetAddress.getByAddress(b));
      }
      long counter = rnd.nextLong();
      CarpHmac h = new CarpHmac(key, null, vhid, list);
      for (CarpHmac.Variant v : CarpHmac.Variant.values()) {
        byte[] msg = h.messagePrefix(v);
        byte[] full = new byte[msg.length + 8];
        System.arraycopy(msg, 0, full, 0, msg.length);
        CarpCodec.putLong(full, msg.length, counter);
        // SecretKeySpec rejects an all-zero-length key, so give it the 20-byte (zero-padded) key.
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(key, "HmacSHA1"));
        assertThat(h.compute(counter, v))
            .as("seed %d iteration %d", seed, i)
            .isEqualTo(mac.doFinal(full));
      }
    }
  }

  @Test
  void rejectsBadArguments() {
    assertThatThrownBy(() -> new CarpHmac(new byte[21], null, 1, List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new CarpHmac(new byte[20], new byte[5], 1, List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    CarpHmac h = CarpHmac.of("x", 1, List.of());
    assertThat(h.verify(1, new byte[19], 0)).isFalse();
    assertThat(h.verify(1, null, 0)).isFalse();
    assertThat(h.verify(1, new byte[20], 5)).isFalse();
  }
}
