package dev.carpoperator.bench.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ChurnOutcomeTest {
  @Test
  void matchesEntriesByIndexAndComputesRates() {
    // three entries created 1 ms apart; the second never arrives
    long[] created = {1_000_000_000L, 1_001_000_000L, 1_002_000_000L};
    long[] arrived = {1_005_000_000L, 0, 1_003_000_000L};
    ChurnOutcome o = ChurnOutcome.match(created, arrived);
    assertThat(o.created()).isEqualTo(3);
    assertThat(o.arrived()).isEqualTo(2);
    assertThat(o.lagMillis()).containsExactly(5.0, 1.0);
    assertThat(o.createdPerSecond()).isCloseTo(1000.0, within(1e-6)); // 2 intervals in 2 ms
    assertThat(o.replicatedPerSecond())
        .isCloseTo(400.0, within(1e-6)); // 2 arrivals, first creation to last arrival 5 ms
    assertThat(o.arrivedShare()).isCloseTo(2 / 3.0, within(1e-9));
    assertThat(o.sustained(100)).isFalse(); // a third lost
  }

  @Test
  void entriesNeverCreatedDoNotCount() {
    ChurnOutcome o = ChurnOutcome.match(new long[] {10, 0}, new long[] {0, 20});
    assertThat(o.created()).isEqualTo(1);
    assertThat(o.arrived()).isZero();
    assertThat(o.sustained(100)).isFalse();
  }

  @Test
  void sustainedWhenAllArriveWithBoundedLag() {
    long[] created = new long[100];
    long[] arrived = new long[100];
    for (int i = 0; i < 100; i++) {
      created[i] = 1_000_000L * (i + 1);
      arrived[i] = created[i] + 2_000_000L;
    }
    ChurnOutcome o = ChurnOutcome.match(created, arrived);
    assertThat(o.sustained(10)).isTrue();
    assertThat(o.sustained(1)).isFalse();
  }
}
