package dev.carpoperator.agent.kube;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.LongSupplier;

/**
 * How much an ever-growing counter grew over the last {@code window} milliseconds, from samples
 * taken when read. Status reports carry recent authentication failures, so a fixed password stops
 * degrading the address.
 */
final class RecentCount {
  private record Sample(long at, long value) {}

  private final long windowMillis;
  private final LongSupplier clock;
  private final Deque<Sample> samples = new ArrayDeque<>();

  RecentCount(long windowMillis, LongSupplier clock) {
    this.windowMillis = windowMillis;
    this.clock = clock;
  }

  synchronized long read(long cumulative) {
    long now = clock.getAsLong();
    samples.addLast(new Sample(now, cumulative));
    // Keep the newest sample at least a window old as the baseline; drop the older ones.
    while (samples.size() > 1 && now - second().at() >= windowMillis) samples.removeFirst();
    return cumulative - samples.getFirst().value();
  }

  private Sample second() {
    var it = samples.iterator();
    it.next();
    return it.next();
  }
}
