package dev.carpoperator.agent.engine.plumbing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimitedWarningsTest {
  final AtomicLong now = new AtomicLong(1_000);
  final RateLimitedWarnings warnings = new RateLimitedWarnings(100, now::get);

  @Test
  void oneWarningPerKeyAndPeriodSayingHowManyWereSuppressed() {
    assertThat(warnings.admit("a")).isZero();
    assertThat(warnings.admit("a")).isEqualTo(-1);
    now.addAndGet(99);
    assertThat(warnings.admit("a")).isEqualTo(-1);
    now.addAndGet(1);
    assertThat(warnings.admit("a")).isEqualTo(2);
    assertThat(warnings.admit("a")).isEqualTo(-1);
  }

  @Test
  void keysAreIndependent() {
    assertThat(warnings.admit("eth0/BAD_TTL")).isZero();
    assertThat(warnings.admit("eth1/BAD_TTL")).isZero();
    assertThat(warnings.admit("eth0/BAD_AUTH")).isZero();
    assertThat(warnings.admit("eth0/BAD_TTL")).isEqualTo(-1);
  }

  @Test
  void worksAcrossClockWrapAround() {
    now.set(Long.MAX_VALUE - 10);
    assertThat(warnings.admit("a")).isZero();
    now.set(Long.MIN_VALUE + 10); // 21 ns later
    assertThat(warnings.admit("a")).isEqualTo(-1);
    now.addAndGet(100);
    assertThat(warnings.admit("a")).isEqualTo(1);
  }
}
