package dev.carpoperator.agent.carp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LoadBalancingTest {
  static InetAddress ip(String s) {
    return CarpHmacTest.addrs(s).get(0);
  }

  @Test
  void ipv4FoldIsXorOfBigEndianWordsModCount() {
    // 10.0.0.1 ^ 10.0.0.2 = 0x00000003
    assertThat(LoadBalancing.ipBucket(ip("10.0.0.1"), ip("10.0.0.2"), 2)).isEqualTo(1);
    assertThat(LoadBalancing.ipBucket(ip("10.0.0.1"), ip("10.0.0.2"), 3)).isEqualTo(0);
    // High bit set: the fold must be treated as unsigned (0x80000000 mod 3 == 2).
    assertThat(LoadBalancing.ipBucket(ip("128.0.0.0"), ip("0.0.0.0"), 3)).isEqualTo(2);
    // IPv6: all four words of both addresses are XORed together.
    // 2001:db8::1 ^ 2001:db8::4 -> words 0,0,0,5 -> 5 mod 4 = 1
    assertThat(LoadBalancing.ipBucket(ip("2001:db8::1"), ip("2001:db8::4"), 4)).isEqualTo(1);
    // 2001:db8:0:0:1:: (word2 = 1) and ::1 (word3 = 1) fold to 0 against each other with the same
    // prefix.
    assertThat(LoadBalancing.ipBucket(ip("2001:db8::1:0:0:0"), ip("2001:db8::1"), 5))
        .isEqualTo(Integer.remainderUnsigned(0x00010000 ^ 1, 5));
  }

  @Test
  void symmetricAndInRange() {
    Random rnd = new Random(3);
    for (int i = 0; i < 2000; i++) {
      byte[] a = new byte[rnd.nextBoolean() ? 4 : 16];
      byte[] b = new byte[a.length];
      rnd.nextBytes(a);
      rnd.nextBytes(b);
      int n = 1 + rnd.nextInt(32);
      try {
        InetAddress x = InetAddress.getByAddress(a);
        InetAddress y = InetAddress.getByAddress(b);
        int bucket = LoadBalancing.ipBucket(x, y, n);
        assertThat(bucket).isBetween(0, n - 1).isEqualTo(LoadBalancing.ipBucket(y, x, n));
      } catch (java.net.UnknownHostException e) {
        throw new AssertionError(e);
      }
    }
    assertThatThrownBy(() -> LoadBalancing.ipBucket(ip("10.0.0.1"), ip("::1"), 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LoadBalancing.ipBucket(ip("10.0.0.1"), ip("10.0.0.2"), 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void keepUsesVhidOrderMask() {
    VhidOrder order = new VhidOrder(List.of(30, 10, 20, 10));
    assertThat(order.vhids()).containsExactly(10, 20, 30);
    assertThat(order.leader()).isEqualTo(10);
    assertThat(order.indexOf(20)).isEqualTo(1);
    assertThat(order.indexOf(21)).isEqualTo(-1);
    int mask = order.mask(v -> v == 20); // only vhid 20 (index 1) is MASTER here
    assertThat(mask).isEqualTo(0b010);
    // 10.0.0.1 ^ 10.0.0.2 = 3 -> bucket 0 of 3; 10.0.0.1 ^ 10.0.0.5 = 4 -> bucket 1
    assertThat(LoadBalancing.ipKeep(ip("10.0.0.1"), ip("10.0.0.2"), mask, 3)).isFalse();
    assertThat(LoadBalancing.ipKeep(ip("10.0.0.1"), ip("10.0.0.5"), mask, 3)).isTrue();
    assertThatThrownBy(() -> new VhidOrder(List.of())).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Bob Jenkins' published lookup3 hashlittle() values, which Linux jhash() equals on little-endian
   * reads.
   */
  @Test
  void jhashMatchesLookup3ReferenceVectors() {
    byte[] four = "Four score and seven years ago".getBytes(StandardCharsets.US_ASCII);
    assertThat(LoadBalancing.jhash(new byte[0], 0, 0, 0)).isEqualTo(0xdeadbeef);
    assertThat(LoadBalancing.jhash(four, 0, 30, 0)).isEqualTo(0x17770551);
    assertThat(LoadBalancing.jhash(four, 0, 30, 1)).isEqualTo(0xcd628161);
  }

  @Test
  void arpBucketIsStableAndSpreads() {
    byte[] mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    int b = LoadBalancing.arpBucket(mac, 4, 0);
    assertThat(b).isBetween(0, 3).isEqualTo(LoadBalancing.arpBucket(mac.clone(), 4, 0));
    assertThat(LoadBalancing.arpBucket(mac, 1, 0)).isZero();
    int[] hist = new int[4];
    Random rnd = new Random(5);
    for (int i = 0; i < 4000; i++) {
      byte[] m = new byte[6];
      rnd.nextBytes(m);
      hist[LoadBalancing.arpBucket(m, 4, 0x1234)]++;
    }
    assertThat(java.util.Arrays.stream(hist).boxed().toList())
        .allSatisfy(n -> assertThat(n).isBetween(850, 1150));
    assertThat(LoadBalancing.reciprocalScale(0xffffffff, 4)).isEqualTo(3);
    assertThat(LoadBalancing.reciprocalScale(0x3fffffff, 4)).isEqualTo(0);
    assertThatThrownBy(() -> LoadBalancing.arpBucket(new byte[5], 2, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * nftables jhash over "ip saddr . ip daddr"; the kernel's agreement is checked by
   * LoadSharingTest.
   */
  @Test
  void linuxIpBucketHashesSourceThenDestination() throws Exception {
    InetAddress vip = InetAddress.getByName("192.0.2.100");
    int[] counts = new int[2];
    for (int i = 1; i < 255; i++) {
      InetAddress src = InetAddress.getByName("198.51.100." + i);
      int b = LoadBalancing.linuxIpBucket(src, vip, 2, 7);
      assertThat(b).isEqualTo(LoadBalancing.linuxIpBucket(src, vip, 2, 7));
      counts[b]++;
    }
    assertThat(counts[0]).isBetween(90, 164);
    byte[] key = {(byte) 198, 51, 100, 1, (byte) 192, 0, 2, 100};
    assertThat(LoadBalancing.linuxIpBucket(InetAddress.getByName("198.51.100.1"), vip, 5, 7))
        .isEqualTo(LoadBalancing.reciprocalScale(LoadBalancing.jhash(key, 0, 8, 7), 5));
    assertThatThrownBy(
            () ->
                LoadBalancing.linuxIpBucket(
                    InetAddress.getByName("2001:db8::1"),
                    InetAddress.getByName("2001:db8::2"),
                    2,
                    0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
