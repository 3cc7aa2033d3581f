package dev.carpoperator.bench.sync;

import java.util.ArrayList;
import java.util.List;

/**
 * One churn run matched entry by entry: creation on the master against the first NEW event on the
 * backup.
 *
 * @param offered entries the generator was asked for
 * @param created entries it wrote
 * @param arrived entries that appeared on the backup
 * @param createdPerSecond the generator's achieved rate (its first to its last write)
 * @param replicatedPerSecond arrivals per second, from the first creation to the last arrival
 * @param lagMillis arrival minus creation of every arrived entry, in creation order
 */
record ChurnOutcome(
    int offered,
    int created,
    int arrived,
    double createdPerSecond,
    double replicatedPerSecond,
    List<Double> lagMillis) {

  /** created[i] and arrived[i] are CLOCK_MONOTONIC nanos of entry i, 0 when it has none. */
  static ChurnOutcome match(long[] created, long[] arrived) {
    long firstCreated = Long.MAX_VALUE;
    long lastCreated = Long.MIN_VALUE;
    long lastArrived = Long.MIN_VALUE;
    int nCreated = 0;
    int nArrived = 0;
    List<Double> lags = new ArrayList<>();
    for (int i = 0; i < created.length; i++) {
      if (created[i] == 0) continue;
      nCreated++;
      firstCreated = Math.min(firstCreated, created[i]);
      lastCreated = Math.max(lastCreated, created[i]);
      if (i < arrived.length && arrived[i] != 0) {
        nArrived++;
        lastArrived = Math.max(lastArrived, arrived[i]);
        lags.add((arrived[i] - created[i]) / 1e6);
      }
    }
    double createdRate =
        nCreated > 1 ? (nCreated - 1) / ((lastCreated - firstCreated) / 1e9) : Double.NaN;
    double replicatedRate =
        nArrived > 0 && lastArrived > firstCreated
            ? nArrived / ((lastArrived - firstCreated) / 1e9)
            : Double.NaN;
    return new ChurnOutcome(created.length, nCreated, nArrived, createdRate, replicatedRate, lags);
  }

  /** Share of the created entries that arrived. */
  double arrivedShare() {
    return created == 0 ? 0 : (double) arrived / created;
  }

  /**
   * Whether the implementation kept up: (nearly) every entry arrived and the lag stayed bounded
   * rather than growing with a backlog. The bound is generous (the agent batches for up to 50 ms by
   * default); a queue that grows for the whole run exceeds it within seconds.
   */
  boolean sustained(double maxP95Millis) {
    if (arrivedShare() < 0.99 || lagMillis.isEmpty()) return false;
    return dev.carpoperator.bench.report.Samples.of(lagMillis).p95() <= maxP95Millis;
  }
}
