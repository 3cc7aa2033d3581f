package dev.carpoperator.agent.health;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CheckStateTest {
  static CheckSpec spec(int failureThreshold, int successThreshold) {
    return new CheckSpec(
        "web",
        new CheckSpec.Tcp("127.0.0.1", 80),
        1000,
        1000,
        failureThreshold,
        successThreshold,
        1);
  }

  @Test
  void anUnrunCheckDemotesNobodyAndTheFirstRunDecidesAtOnce() {
    CheckState s = new CheckState(spec(3, 2));
    assertThat(s.passing()).isTrue();
    assertThat(s.known()).isFalse();
    assertThat(s.record("connection refused")).isTrue(); // not after 3: a restarted node's target
    assertThat(s.passing()).isFalse();
    assertThat(s.lastError()).isEqualTo("connection refused");
  }

  @Test
  void afterTheFirstRunTheThresholdsApplyAndAStreakIsBrokenByTheOtherResult() {
    CheckState s = new CheckState(spec(3, 2));
    assertThat(s.record(null)).isTrue();
    assertThat(s.record("HTTP 503")).isFalse();
    assertThat(s.record("HTTP 503")).isFalse();
    assertThat(s.record(null)).isFalse(); // breaks the streak
    assertThat(s.record("HTTP 503")).isFalse();
    assertThat(s.record("HTTP 503")).isFalse();
    assertThat(s.passing()).isTrue();
    assertThat(s.record("no answer within 1 s")).isTrue();
    assertThat(s.passing()).isFalse();
    assertThat(s.lastError()).isEqualTo("no answer within 1 s");

    assertThat(s.record(null)).isFalse();
    assertThat(s.passing()).isFalse();
    assertThat(s.record(null)).isTrue();
    assertThat(s.passing()).isTrue();
  }
}
