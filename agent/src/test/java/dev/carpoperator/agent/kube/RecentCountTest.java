package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RecentCountTest {
  @Test
  void countsOnlyWhatHappenedWithinTheWindow() {
    AtomicLong now = new AtomicLong(0);
    RecentCount recent = new RecentCount(300_000, now::get);
    assertThat(recent.read(0)).isZero();
    now.set(60_000);
    assertThat(recent.read(5)).as("5 failures in the first minute").isEqualTo(5);
    now.set(240_000);
    assertThat(recent.read(12)).isEqualTo(12);
    now.set(400_000); // the samples at 0 and 60 s are now older than the window
    assertThat(recent.read(12))
        .as("only the failures since the 60 s sample, none new")
        .isEqualTo(7);
    now.set(700_000);
    assertThat(recent.read(12)).as("nothing new for 5 minutes: the password was fixed").isZero();
  }
}
