package dev.carpoperator.agent.engine.plumbing;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * At most one warning per key (a reason, an interface and reason) per period: hostile or broken
 * input arrives by the thousand per second, and the log must stay readable. Thread-safe.
 */
public final class RateLimitedWarnings {
  private final long periodNanos;
  private final LongSupplier clock;
  private final Map<String, long[]> last = new ConcurrentHashMap<>(); // key -> {at, suppressed}

  /**
   * @param periodNanos the least time between two warnings under one key
   * @param clock nanoseconds, monotonic ({@code System::nanoTime})
   */
  public RateLimitedWarnings(long periodNanos, LongSupplier clock) {
    this.periodNanos = periodNanos;
    this.clock = clock;
  }

  /**
   * Whether a warning under {@code key} may be logged now: -1 if one was logged less than a period
   * ago (this one is counted as suppressed), else how many were suppressed since the last one.
   */
  public long admit(String key) {
    long now = clock.getAsLong();
    long[] state = last.computeIfAbsent(key, k -> new long[] {now - periodNanos, 0});
    synchronized (state) {
      if (now - state[0] < periodNanos) {
        state[1]++;
        return -1;
      }
      long suppressed = state[1];
      state[0] = now;
      state[1] = 0;
      return suppressed;
    }
  }
}
