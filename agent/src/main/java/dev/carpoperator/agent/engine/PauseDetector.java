package dev.carpoperator.agent.engine;

/**
 * Notices that this process was not running for a while (SIGSTOP, a paused VM, a machine that
 * starved it): a loop that turns every few milliseconds sees a long gap between two turns. Pure: it
 * is fed the monotonic time of each turn.
 *
 * <p>The state sync uses it because sync packets that waited in the capture buffer longer than the
 * envelope's freshness window are refused as stale, so a long pause loses states that nothing sends
 * again for a minute; it then asks the peers for their table, as after its link was down.
 */
final class PauseDetector {
  private final long thresholdNanos;
  private boolean turned;
  private long last;

  PauseDetector(long thresholdNanos) {
    if (thresholdNanos <= 0) throw new IllegalArgumentException("threshold must be positive");
    this.thresholdNanos = thresholdNanos;
  }

  /**
   * One turn of the loop at {@code now}: the gap since the last turn if it exceeds the threshold,
   * else 0.
   */
  long turn(long now) {
    long gap = turned ? now - last : 0;
    turned = true;
    last = now;
    return gap > thresholdNanos ? gap : 0;
  }
}
