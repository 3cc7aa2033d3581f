package dev.carpoperator.bench.failover;

import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The failover time as a client sees it: from the last reply through the old master to the first
 * reply through the new one, read from the probe client's run lines (see {@link ReplyRuns}). Times
 * are CLOCK_MONOTONIC nanoseconds ({@link System#nanoTime()} in the client and in the bench, same
 * machine).
 */
final class TrafficGap {
  private TrafficGap() {}

  /** The first reply from {@code newNode} after {@code sinceNanos}, if the client has seen one. */
  static OptionalLong firstReply(List<String> lines, String newNode, long sinceNanos) {
    for (String l : lines) {
      String[] f = l.split(" ");
      if (f.length == 3
          && f[0].equals("run")
          && f[1].equals(newNode)
          && Long.parseLong(f[2]) > sinceNanos) {
        return OptionalLong.of(Long.parseLong(f[2]));
      }
    }
    return OptionalLong.empty();
  }

  /**
   * Milliseconds from the last reply from {@code oldNode} before the first reply from {@code
   * newNode} after {@code sinceNanos} to that first reply; empty while the new node has not
   * answered or if the old node never did.
   */
  static OptionalDouble gapMillis(
      List<String> lines, String oldNode, String newNode, long sinceNanos) {
    OptionalLong first = firstReply(lines, newNode, sinceNanos);
    if (first.isEmpty()) return OptionalDouble.empty();
    long lastOld = Long.MIN_VALUE;
    for (String l : lines) {
      String[] f = l.split(" ");
      if (f.length == 4 && f[0].equals("end") && f[1].equals(oldNode)) {
        long t = Long.parseLong(f[2]);
        if (t <= first.getAsLong()) lastOld = Math.max(lastOld, t);
      }
    }
    return lastOld == Long.MIN_VALUE
        ? OptionalDouble.empty()
        : OptionalDouble.of((first.getAsLong() - lastOld) / 1e6);
  }
}
