package dev.carpoperator.bench.torture;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The short torture run of CI (issue #8): two minutes of chaos on the four-node lab with a fixed
 * seed. Asserts no interrupted session, and enough failovers that it cannot pass without testing
 * anything. No timing assertion beyond the generous settle and stall limits ({@link
 * TortureOptions#of}): CI runs on a loaded 2-core machine. The long run is {@code sudo ./carp
 * torture --duration 30m} (docs/torture.md).
 */
class TortureTest {
  private static final Logger log = LoggerFactory.getLogger(TortureTest.class);

  /**
   * Picked so that the first steps include a master kill, a planned stop, a link cut and a crash
   * (see the log).
   */
  static final long SEED = 8;

  static final Duration CHAOS = Duration.ofSeconds(120);
  static final int MIN_FAILOVERS = 4;

  @Test
  void sessionsSurviveTwoMinutesOfChaos() throws Exception {
    // No waves of sessions opened during the chaos: one timing-dependent miss of new states by a
    // node back from a
    // cut is not explained yet (docs/torture.md, findings) and would make CI flaky. The re-sync
    // after a link cut is
    // checked by StateSyncFailoverTest; ./carp torture runs with waves and reports them.
    TortureOptions options =
        TortureOptions.of(SEED, CHAOS)
            .withConnections(16)
            .withWaveConnections(0)
            .withFaults(ChaosDriver.Action.CLASSIC);
    TortureReport r;
    try (TortureLab lab = TortureLab.create(false)) {
      r = new ChaosDriver(lab, options, log::info).run();
    }
    assertThat(r.interrupted())
        .as("interrupted sessions\n" + r.summary() + "\n" + String.join("\n", r.events()))
        .isEmpty();
    assertThat(r.notConverged())
        .as(
            "steps after which the cluster did not converge\n"
                + r.summary()
                + "\n"
                + String.join("\n", r.events()))
        .isZero();
    assertThat(r.failovers())
        .as("failovers: the run must exercise them\n" + r.summary())
        .isGreaterThanOrEqualTo(MIN_FAILOVERS);
    assertThat(r.failoversSurvived()).isEqualTo(r.failovers());
  }
}
