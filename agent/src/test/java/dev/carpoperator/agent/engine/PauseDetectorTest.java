package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PauseDetectorTest {
  static final long S = 1_000_000_000L;

  @Test
  void aGapLongerThanTheThresholdIsReportedOnceWithItsLength() {
    PauseDetector d = new PauseDetector(10 * S);
    long t = Long.MAX_VALUE - 5 * S; // monotonic time may wrap: only differences count
    assertThat(d.turn(t)).isZero(); // the first turn has nothing to compare with
    assertThat(d.turn(t + S / 100)).isZero();
    assertThat(d.turn(t + 10 * S)).isZero(); // 9.99 s: under the threshold
    assertThat(d.turn(t + 10 * S + 11 * S)).isEqualTo(11 * S);
    assertThat(d.turn(t + 21 * S + S / 100)).isZero(); // reported once
  }

  @Test
  void theThresholdMustBePositive() {
    assertThatThrownBy(() -> new PauseDetector(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
