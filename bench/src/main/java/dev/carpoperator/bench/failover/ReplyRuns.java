package dev.carpoperator.bench.failover;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns the probe replies arriving at the client into runs: consecutive replies from the same
 * router node with no pause longer than {@code splitNanos}. The client prints one line when a run
 * starts ({@code run <node> <nanos>}) and one when it ends ({@code end <node> <lastNanos>
 * <count>}), so a failover costs a few lines instead of a thousand per second. A run's end is only
 * known when the next reply comes, so both lines are printed together.
 */
final class ReplyRuns {
  private final long splitNanos;
  private String node;
  private long last;
  private long count;

  ReplyRuns(long splitNanos) {
    this.splitNanos = splitNanos;
  }

  /**
   * Records a reply from {@code from} that arrived at {@code nanos}; returns the lines to print
   * (often none).
   */
  List<String> reply(String from, long nanos) {
    List<String> out = new ArrayList<>(2);
    if (node != null && (!node.equals(from) || nanos - last > splitNanos)) {
      out.add("end " + node + " " + last + " " + count);
      node = null;
    }
    if (node == null) {
      node = from;
      count = 0;
      out.add("run " + from + " " + nanos);
    }
    last = nanos;
    count++;
    return out;
  }
}
