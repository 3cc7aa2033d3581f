package dev.carpoperator.bench.torture;

import java.util.List;
import java.util.Map;

/**
 * What a torture run saw.
 *
 * @param faults the kinds of fault the run picked from ({@code kill}, {@code sync_cut}, ...)
 * @param failoversByVip master changes per VIP (the VIP moved from one node with a running,
 *     connected agent to another)
 * @param failoversSurvived failovers less those of the steps after which a session was broken or
 *     not flowing
 * @param sessions sessions in all: the long-lived ones plus every wave opened during the chaos
 * @param interrupted session ({@code <client>#<index>}) → why it counts as interrupted (reset, EOF,
 *     mismatch, stall)
 * @param splitBrainSamples monitor samples (every 500 ms) in which two connected, running agents
 *     held the same VIP
 * @param overlapEpisodes episodes of two holders lasting at most {@link ChaosDriver#OVERLAP_MILLIS}
 *     (a handover)
 * @param splitBrainEpisodes episodes of two holders lasting longer: a split brain
 * @param splitBrainLongestMillis the longest episode of either kind
 * @param vipsApartSamples samples in which the two VIPs were held by different nodes (traffic would
 *     be dropped)
 * @param notConverged steps after which the cluster did not settle on one master within the settle
 *     time
 * @param convergeMillis per step, action to the expected node holding both VIPs alone
 * @param actions fault kind → times done (every kind of {@code faults}, 0 when never picked)
 * @param stallSecondsByKind kind of step ({@code kill}, and {@code kill: back} for its recovery) →
 *     per step of that kind, the longest stall of a session during it
 * @param agentLives per agent process: memory and file descriptors after the warm-up, at the end,
 *     and their peaks ({@link ResourceSampler.Life})
 * @param resourceSamples every sample of every agent's resident memory and open descriptors
 */
public record TortureReport(
    long seed,
    List<String> faults,
    long durationMillis,
    int steps,
    Map<String, Integer> actions,
    Map<String, Integer> failoversByVip,
    int failovers,
    int failoversSurvived,
    int sessions,
    Map<String, String> interrupted,
    long longestStallMillis,
    int splitBrainSamples,
    int overlapEpisodes,
    int splitBrainEpisodes,
    long splitBrainLongestMillis,
    int vipsApartSamples,
    int notConverged,
    List<Double> convergeMillis,
    Map<String, List<Double>> stallSecondsByKind,
    List<String> agentLives,
    List<ResourceSampler.Sample> resourceSamples,
    List<String> events) {

  public String summary() {
    return String.format(
        """
        seed %d, faults %s, %d s of chaos, %d steps %s
        failovers: %d (per VIP %s), survived %d
        sessions: %d, interrupted %d %s; longest stall %.1f s
        two masters of a VIP: %d samples; %d handover overlaps (<= %d s), %d split brains (longer); longest %.1f s
        VIPs on different nodes: %d samples; steps not converged: %d
        longest stall per step, by kind (s): %s
        agents (RSS and open fds after %d min of life, at its end, peak):
          %s""",
        seed,
        faults,
        durationMillis / 1000,
        steps,
        actions,
        failovers,
        failoversByVip,
        failoversSurvived,
        sessions,
        interrupted.size(),
        interrupted.isEmpty() ? "" : interrupted.toString(),
        longestStallMillis / 1000.0,
        splitBrainSamples,
        overlapEpisodes,
        ChaosDriver.OVERLAP_MILLIS / 1000,
        splitBrainEpisodes,
        splitBrainLongestMillis / 1000.0,
        vipsApartSamples,
        notConverged,
        stallSummary(),
        ResourceSampler.WARM_UP.toMinutes(),
        String.join("\n  ", agentLives));
  }

  /** {@code kill: n 5, max 3.2} per kind. */
  String stallSummary() {
    StringBuilder b = new StringBuilder();
    stallSecondsByKind.forEach(
        (kind, v) -> {
          if (!b.isEmpty()) b.append("; ");
          b.append(
              String.format(
                  "%s n %d, max %.1f",
                  kind, v.size(), v.stream().mapToDouble(Double::doubleValue).max().orElse(0)));
        });
    return b.toString();
  }
}
