package dev.carpoperator.bench.torture;

import dev.carpoperator.bench.torture.ChaosDriver.Action;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Every random choice of the chaos, from one seeded RNG, in the order {@link ChaosDriver} makes
 * them: the pause, recover or disturb, which node, which fault, which side of a link cut. With the
 * fault kinds of the first torture runs ({@link Action#CLASSIC}) and the default second-fault
 * chance (0.5) it draws exactly what {@code ChaosDriver} drew before the other kinds existed, so a
 * seed picks the same steps as then.
 */
final class ChaosChoices {
  private final Random rng;
  private final TortureOptions options;

  ChaosChoices(TortureOptions options) {
    this.options = options;
    this.rng = new Random(options.seed());
  }

  /** The pause before the next step, between the options' minimum and maximum. */
  long pauseMillis() {
    long min = options.minPause().toMillis();
    long max = options.maxPause().toMillis();
    return min + (max > min ? (long) (rng.nextDouble() * (max - min)) : 0);
  }

  /**
   * Whether the step brings a disturbed node back (else it disturbs another): always when {@link
   * TortureOptions#maxDisturbed} nodes are disturbed, never when none is; otherwise a second node
   * is disturbed with the chance {@link TortureOptions#secondFaultChance}.
   */
  boolean recover(Map<String, Action> disturbed) {
    if (disturbed.isEmpty()) return false;
    if (disturbed.size() >= options.maxDisturbed()) return true;
    double chance = options.secondFaultChance();
    // 0.5 draws a boolean, as the driver always did, so old seeds keep their steps
    return chance == TortureOptions.DEFAULT_SECOND_FAULT_CHANCE
        ? rng.nextBoolean()
        : rng.nextDouble() >= chance;
  }

  /** Which of the disturbed nodes comes back. */
  String recovered(List<String> disturbed) {
    return disturbed.get(rng.nextInt(disturbed.size()));
  }

  /** The node to disturb: half the time the current master, otherwise any healthy node. */
  String node(String master, List<String> healthy) {
    return rng.nextBoolean() ? master : healthy.get(rng.nextInt(healthy.size()));
  }

  /** The fault, among the options' kinds. */
  Action action() {
    List<Action> kinds = options.faults();
    return kinds.get(rng.nextInt(kinds.size()));
  }

  /** The NIC a link cut takes down: the lan or the wan side. */
  String linkSide() {
    return rng.nextBoolean() ? TortureLab.LAN_IF : TortureLab.WAN_IF;
  }

  /** How long a frozen agent stays stopped at least. */
  static final Duration FREEZE_AT_LEAST = Duration.ofSeconds(5);
}
