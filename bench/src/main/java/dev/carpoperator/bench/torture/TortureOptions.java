package dev.carpoperator.bench.torture;

import java.time.Duration;
import java.util.List;

/**
 * How a torture run goes.
 *
 * @param seed the chaos RNG's seed: the same seed picks the same actions, nodes and pauses (timing
 *     still varies)
 * @param duration how long the chaos lasts (set-up and the final recovery come on top)
 * @param connections long-lived TCP sessions through the VIPs
 * @param stallLimit a session that verifies no byte for longer than this counts as interrupted
 * @param maxDisturbed at most this many nodes are down or cut off at once (at least 4 -
 *     maxDisturbed stay healthy)
 * @param minPause shortest pause between two actions (after the previous one converged)
 * @param maxPause longest pause between two actions
 * @param settle how long the cluster may take to converge after an action before the step counts as
 *     not converged
 * @param sourceNat lan → wan traffic leaves as the wan VIP (the NAT mapping must move with the
 *     state)
 * @param waveConnections sessions opened after each disturbing step (0: none), so that some
 *     sessions start while a node is away and are unknown to it when it comes back
 * @param faults the kinds of fault the chaos picks from, each once (default {@link
 *     ChaosDriver.Action#ALL}; {@link ChaosDriver.Action#CLASSIC} picks what runs before the other
 *     kinds picked with the same seed)
 * @param secondFaultChance with a node disturbed (and fewer than maxDisturbed), the chance that the
 *     next step disturbs another instead of bringing one back (default 0.5, as before the option;
 *     higher: two nodes disturbed at once more often)
 */
public record TortureOptions(
    long seed,
    Duration duration,
    int connections,
    Duration stallLimit,
    int maxDisturbed,
    Duration minPause,
    Duration maxPause,
    Duration settle,
    boolean sourceNat,
    int waveConnections,
    List<ChaosDriver.Action> faults,
    double secondFaultChance) {

  /** The chance of a second disturbance that draws what the driver drew before the option. */
  public static final double DEFAULT_SECOND_FAULT_CHANCE = 0.5;

  public TortureOptions {
    if (maxDisturbed < 1 || maxDisturbed > TortureLab.NODES.size() - 1) {
      throw new IllegalArgumentException(
          "maxDisturbed must be 1-" + (TortureLab.NODES.size() - 1) + ": one node stays healthy");
    }
    if (minPause.compareTo(maxPause) > 0) throw new IllegalArgumentException("minPause > maxPause");
    if (faults.isEmpty()) throw new IllegalArgumentException("no fault kind");
    if (faults.stream().distinct().count() != faults.size())
      throw new IllegalArgumentException("a fault kind twice: " + faults);
    faults = List.copyOf(faults);
    if (!(secondFaultChance >= 0 && secondFaultChance <= 1))
      throw new IllegalArgumentException("secondFaultChance must be 0-1: " + secondFaultChance);
  }

  /** Defaults for a run of the given length. */
  public static TortureOptions of(long seed, Duration duration) {
    return new TortureOptions(
        seed,
        duration,
        24,
        Duration.ofSeconds(30),
        2,
        Duration.ofSeconds(1),
        Duration.ofSeconds(8),
        Duration.ofSeconds(90),
        false,
        4,
        ChaosDriver.Action.ALL,
        DEFAULT_SECOND_FAULT_CHANCE);
  }

  public TortureOptions withConnections(int n) {
    return new TortureOptions(
        seed,
        duration,
        n,
        stallLimit,
        maxDisturbed,
        minPause,
        maxPause,
        settle,
        sourceNat,
        waveConnections,
        faults,
        secondFaultChance);
  }

  public TortureOptions withSourceNat(boolean nat) {
    return new TortureOptions(
        seed,
        duration,
        connections,
        stallLimit,
        maxDisturbed,
        minPause,
        maxPause,
        settle,
        nat,
        waveConnections,
        faults,
        secondFaultChance);
  }

  public TortureOptions withWaveConnections(int n) {
    return new TortureOptions(
        seed,
        duration,
        connections,
        stallLimit,
        maxDisturbed,
        minPause,
        maxPause,
        settle,
        sourceNat,
        n,
        faults,
        secondFaultChance);
  }

  public TortureOptions withStallLimit(Duration d) {
    return new TortureOptions(
        seed,
        duration,
        connections,
        d,
        maxDisturbed,
        minPause,
        maxPause,
        settle,
        sourceNat,
        waveConnections,
        faults,
        secondFaultChance);
  }

  public TortureOptions withFaults(List<ChaosDriver.Action> kinds) {
    return new TortureOptions(
        seed,
        duration,
        connections,
        stallLimit,
        maxDisturbed,
        minPause,
        maxPause,
        settle,
        sourceNat,
        waveConnections,
        kinds,
        secondFaultChance);
  }

  public TortureOptions withSecondFaultChance(double chance) {
    return new TortureOptions(
        seed,
        duration,
        connections,
        stallLimit,
        maxDisturbed,
        minPause,
        maxPause,
        settle,
        sourceNat,
        waveConnections,
        faults,
        chance);
  }
}
