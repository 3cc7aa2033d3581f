package dev.carpoperator.bench.torture;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The short torture runs of CI (issues #8, #19): chaos on the four-node lab with fixed seeds, with
 * waves of sessions opened during the chaos, once routed and once with source NAT. Asserts no
 * interrupted session, and enough failovers that it cannot pass without testing anything. No timing
 * assertion beyond the generous settle and stall limits ({@link TortureOptions#of}): CI runs on a
 * loaded 2-core machine. The long run is {@code sudo ./carp torture --duration 30m}
 * (docs/torture.md).
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

  static final int CONNECTIONS = 16;

  // The first two runs take the classic kinds (kill, stop, cut, crash); the third every kind.

  /**
   * The NAT run, with the random seed of the 10-minute run in docs/torture.md. Its first steps
   * disturb the master less often than seed 8's (4 failovers in 95 s when measured), so it asks for
   * fewer.
   */
  static final long NAT_SEED = 769352378;

  static final Duration NAT_CHAOS = Duration.ofSeconds(120);
  static final int NAT_MIN_FAILOVERS = 2;

  /**
   * Two minutes of chaos with waves: after each disturbing step a wave of 4 sessions opens, so some
   * sessions start while a node is away and are unknown to it until the sync tells it.
   */
  @Test
  void sessionsSurviveTwoMinutesOfChaosWithWaves() throws Exception {
    TortureOptions options =
        TortureOptions.of(SEED, CHAOS)
            .withConnections(CONNECTIONS)
            .withFaults(ChaosDriver.Action.CLASSIC);
    TortureReport r = chaos(options);
    assertSurvived(r, MIN_FAILOVERS);
    assertThat(r.sessions())
        .as("sessions opened in waves during the chaos\n" + r.summary())
        .isGreaterThan(CONNECTIONS);
  }

  /**
   * The same with source NAT on the firewalls (lan → wan leaves as the wan VIP): the NAT mapping
   * must move with the replicated state, or the server's replies reach a node that does not know
   * them. A shorter run with another seed, so that CI sees other choices.
   */
  @Test
  void natSessionsSurviveChaos() throws Exception {
    TortureOptions options =
        TortureOptions.of(NAT_SEED, NAT_CHAOS)
            .withConnections(CONNECTIONS)
            .withSourceNat(true)
            .withFaults(ChaosDriver.Action.CLASSIC);
    TortureReport r = chaos(options);
    assertSurvived(r, NAT_MIN_FAILOVERS);
  }

  /** The seed of the 2-hour runs in docs/torture.md: its first steps take every kind. */
  static final long ALL_KINDS_SEED = 432191547;

  static final Duration ALL_KINDS_CHAOS = Duration.ofSeconds(300);

  /**
   * Every kind of fault, with waves and source NAT: beside the classic kinds the sync link cut or
   * impaired, one CARP link cut and a frozen agent, the kinds behind the findings of
   * docs/torture.md, in CI once those were fixed. A frozen master thawed after a failover must take
   * its hosts back (it re-announces) and carry their sessions on (its own entries' window checks
   * relaxed); a node back from a link cut must not take over without the states created meanwhile.
   */
  @Test
  void everyKindOfFaultWithWavesAndNat() throws Exception {
    TortureOptions options =
        TortureOptions.of(ALL_KINDS_SEED, ALL_KINDS_CHAOS)
            .withConnections(CONNECTIONS)
            .withSourceNat(true)
            .withFaults(ChaosDriver.Action.ALL);
    TortureReport r = chaos(options);
    assertSurvived(r, MIN_FAILOVERS);
    // which kinds a step takes depends on who is master when, so not every kind is certain in 5
    // minutes; this seed took all eight in its first 40 steps (about 5 minutes) when measured
    assertThat(r.actions().entrySet().stream().filter(e -> e.getValue() > 0).count())
        .as("kinds of fault the run took\n" + r.summary())
        .isGreaterThanOrEqualTo(6);
  }

  /** Runs the chaos on a new four-node lab (with source NAT if the options ask for it). */
  private static TortureReport chaos(TortureOptions options) throws Exception {
    try (TortureLab lab = TortureLab.create(options.sourceNat())) {
      return new ChaosDriver(lab, options, log::info).run();
    }
  }

  private static void assertSurvived(TortureReport r, int minFailovers) {
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
        .isGreaterThanOrEqualTo(minFailovers);
    assertThat(r.failoversSurvived()).isEqualTo(r.failovers());
  }
}
