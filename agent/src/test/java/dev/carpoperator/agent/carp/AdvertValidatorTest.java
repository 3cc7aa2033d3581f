package dev.carpoperator.agent.carp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.net.InternetChecksum;
import java.net.InetAddress;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AdvertValidatorTest {
  static final long OUR_COOKIE = 0x5555aaaa5555aaaaL;
  static final CarpHmac HMAC1 = CarpHmac.of("secret", 1, CarpHmacTest.addrs("10.0.0.1"));
  static final InetAddress SRC = CarpHmacTest.addrs("10.0.0.2").get(0);
  static final InetAddress GROUP = CarpHmacTest.addrs("224.0.0.18").get(0);

  final RejectionCounters counters = new RejectionCounters();
  final AdvertValidator validator =
      new AdvertValidator(Map.of(1, new VhostKeys(HMAC1, OUR_COOKIE))::get, counters);

  static byte[] goodAdvert(long counter) {
    return CarpCodec.encode(1, 100, 0, 1, counter, HMAC1);
  }

  /** Rewrites the checksum after a deliberate corruption so that later checks are reached. */
  static byte[] fixChecksum(byte[] p) {
    p[6] = 0;
    p[7] = 0;
    int c = InternetChecksum.compute(p, 0, 36);
    p[6] = (byte) (c >>> 8);
    p[7] = (byte) c;
    return p;
  }

  ValidationResult run(int ttl, byte[] payload) {
    return validator.validate(new InboundPacket(ttl, SRC, GROUP, payload));
  }

  @Test
  void acceptsGoodAdvert() {
    ValidationResult r = run(255, goodAdvert(7));
    assertThat(r)
        .isInstanceOfSatisfying(
            ValidationResult.Accepted.class,
            a -> {
              assertThat(a.advert().vhid()).isEqualTo(1);
              assertThat(a.advert().advskew()).isEqualTo(100);
              assertThat(a.advert().advbase()).isEqualTo(1);
              assertThat(a.advert().counter()).isEqualTo(7);
              assertThat(a.source()).isEqualTo(SRC);
            });
    assertThat(counters.accepted()).isEqualTo(1);
  }

  @Test
  void acceptsTrailingBytes() {
    byte[] p = java.util.Arrays.copyOf(goodAdvert(7), 40);
    assertThat(run(255, p)).isInstanceOf(ValidationResult.Accepted.class);
  }

  @Test
  void eachReasonAlone() {
    assertThat(run(64, goodAdvert(7)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_TTL));
    assertThat(run(255, java.util.Arrays.copyOf(goodAdvert(7), 35)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_LENGTH));
    byte[] badSum = goodAdvert(7);
    badSum[7] ^= 1;
    assertThat(run(255, badSum))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_CHECKSUM));
    byte[] otherVhid = goodAdvert(7);
    otherVhid[1] = 2;
    assertThat(run(255, fixChecksum(otherVhid)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.UNKNOWN_VHID));
    byte[] v3 = goodAdvert(7);
    v3[0] = 0x31;
    assertThat(run(255, fixChecksum(v3)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_VERSION));
    byte[] badMac = goodAdvert(7);
    badMac[20] ^= 1;
    assertThat(run(255, fixChecksum(badMac)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_AUTH));
    byte[] wrongKey =
        CarpCodec.encode(1, 100, 0, 1, 7, CarpHmac.of("other", 1, CarpHmacTest.addrs("10.0.0.1")));
    assertThat(run(255, wrongKey)).isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_AUTH));
    assertThat(run(255, goodAdvert(OUR_COOKIE)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.LOOP));

    for (RejectReason r : RejectReason.values()) {
      assertThat(counters.rejected(r)).as(r.name()).isEqualTo(r == RejectReason.BAD_AUTH ? 2 : 1);
    }
    assertThat(counters.accepted()).isZero();
  }

  @Test
  void typeAndAuthlenAreNotCheckedLikeOpenBsd() {
    byte[] p = goodAdvert(7);
    p[0] = 0x22; // type 2
    p[3] = 9; // authlen 9
    assertThat(run(255, fixChecksum(p))).isInstanceOf(ValidationResult.Accepted.class);
  }

  @Test
  void noCounterMonotonicityCheck() {
    assertThat(run(255, goodAdvert(100))).isInstanceOf(ValidationResult.Accepted.class);
    assertThat(run(255, goodAdvert(100))).isInstanceOf(ValidationResult.Accepted.class);
    assertThat(run(255, goodAdvert(3))).isInstanceOf(ValidationResult.Accepted.class);
  }

  /** Several faults at once: only the first in OpenBSD's order is counted. */
  @Test
  void firstFailingCheckWins() {
    byte[] everythingWrong = goodAdvert(OUR_COOKIE);
    everythingWrong[0] = 0x31;
    everythingWrong[1] = 9;
    everythingWrong[20] ^= 1;
    everythingWrong[7] ^= 1; // and a bad checksum
    assertThat(run(1, everythingWrong))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_TTL));
    assertThat(run(1, new byte[3])).isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_TTL));
    assertThat(run(255, java.util.Arrays.copyOf(everythingWrong, 20)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_LENGTH));
    assertThat(run(255, everythingWrong))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_CHECKSUM));
    fixChecksum(everythingWrong);
    assertThat(run(255, everythingWrong))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.UNKNOWN_VHID));
    everythingWrong[1] = 1;
    assertThat(run(255, fixChecksum(everythingWrong)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_VERSION));
    everythingWrong[0] = 0x21;
    assertThat(run(255, fixChecksum(everythingWrong)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_AUTH));
    everythingWrong[20] ^= 1;
    assertThat(run(255, fixChecksum(everythingWrong)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.LOOP));
  }

  @Test
  void nullAndEmptyPayloads() {
    assertThat(run(255, null)).isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_LENGTH));
    assertThat(run(255, new byte[0]))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.BAD_LENGTH));
    assertThat(validator.validate(new InboundPacket(255, null, null, goodAdvert(1))))
        .isInstanceOf(ValidationResult.Accepted.class);
  }

  /** Random bytes, random lengths, random TTLs, and mutations of a good advert: never throws. */
  @Test
  void fuzzNeverThrows() {
    long seed = new Random().nextLong();
    Random rnd = new Random(seed);
    byte[] good = goodAdvert(7);
    try {
      for (int i = 0; i < 100_000; i++) {
        byte[] p;
        switch (rnd.nextInt(4)) {
          case 0 -> {
            p = new byte[rnd.nextInt(80)];
            rnd.nextBytes(p);
          }
          case 1 -> p = java.util.Arrays.copyOf(good, rnd.nextInt(good.length + 1));
          case 2 -> {
            p = good.clone();
            for (int k = rnd.nextInt(4); k >= 0; k--) {
              p[rnd.nextInt(p.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            if (rnd.nextBoolean()) {
              fixChecksum(p);
            }
          }
          default -> {
            p = new byte[36 + rnd.nextInt(4)];
            rnd.nextBytes(p);
            p[0] = 0x21;
            p[1] = 1;
            fixChecksum(p);
          }
        }
        int ttl = rnd.nextInt(10) == 0 ? rnd.nextInt(256) : 255;
        ValidationResult r = run(ttl, p);
        assertThat(r).isNotNull();
      }
    } catch (RuntimeException | AssertionError e) {
      throw new AssertionError("fuzz failed with seed " + seed, e);
    }
    long total = counters.accepted();
    for (RejectReason r : RejectReason.values()) {
      total += counters.rejected(r);
    }
    assertThat(total).isEqualTo(100_000);
  }
}
