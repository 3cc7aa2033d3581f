package dev.carpoperator.bench.torture;

import dev.carpoperator.testing.Periodic;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * Samples every agent's resident memory and open file descriptors through a run, from {@code
 * /proc/<pid>/status} and {@code /proc/<pid>/fd}: a leak shows as a line that keeps rising for the
 * whole life of one agent process. Frozen agents are sampled too (their memory does not move).
 */
final class ResourceSampler implements AutoCloseable {
  /** One sample of one agent process; {@code atSeconds} since the sampler started. */
  record Sample(double atSeconds, String node, long pid, double rssMiB, int fds) {}

  /**
   * What one agent process did over its life: first and last sample after {@link #WARM_UP} (the
   * JVM's heap and the capture buffers grow at start), and the peaks.
   */
  record Life(
      String node,
      long pid,
      double seconds,
      double rssAfterWarmUpMiB,
      double rssAtEndMiB,
      double rssMaxMiB,
      int fdsAfterWarmUp,
      int fdsAtEnd,
      int fdsMax) {
    @Override
    public String toString() {
      return String.format(
          "%s pid %d, %.0f s: RSS %.1f → %.1f MiB (max %.1f), fds %d → %d (max %d)",
          node,
          pid,
          seconds,
          rssAfterWarmUpMiB,
          rssAtEndMiB,
          rssMaxMiB,
          fdsAfterWarmUp,
          fdsAtEnd,
          fdsMax);
    }
  }

  /** Samples before this age of a process are not used as its baseline. */
  static final Duration WARM_UP = Duration.ofMinutes(2);

  private final TortureLab lab;
  private final Duration every;
  private Periodic task;
  private final long t0 = System.nanoTime();
  private final List<Sample> samples = new ArrayList<>();

  ResourceSampler(TortureLab lab, Duration every) {
    this.lab = lab;
    this.every = every;
  }

  void start() {
    task =
        Periodic.start(
            "torture-resources",
            every,
            this::sampleOnce,
            e -> System.err.println("[torture] resources: " + e));
  }

  void sampleOnce() {
    double at = (System.nanoTime() - t0) / 1e9;
    for (String node : TortureLab.NODES) {
      OptionalLong pid = lab.agentPid(node);
      if (pid.isEmpty()) continue;
      Sample s = read(at, node, pid.getAsLong());
      if (s != null) {
        synchronized (this) {
          samples.add(s);
        }
      }
    }
  }

  /** Null when the process went away between the lookup and the read. */
  static Sample read(double at, String node, long pid) {
    Path proc = Path.of("/proc", Long.toString(pid));
    try {
      long rssKiB = -1;
      for (String line : Files.readAllLines(proc.resolve("status"))) {
        if (line.startsWith("VmRSS:")) {
          rssKiB = Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
          break;
        }
      }
      int fds;
      try (Stream<Path> s = Files.list(proc.resolve("fd"))) {
        fds = (int) s.count();
      }
      if (rssKiB < 0) return null;
      return new Sample(at, node, pid, rssKiB / 1024.0, fds);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  synchronized List<Sample> samples() {
    return List.copyOf(samples);
  }

  /** Per agent process, in the order they started. */
  synchronized List<Life> lives() {
    Map<Long, List<Sample>> byPid = new LinkedHashMap<>();
    for (Sample s : samples) byPid.computeIfAbsent(s.pid(), k -> new ArrayList<>()).add(s);
    List<Life> out = new ArrayList<>();
    for (List<Sample> life : byPid.values()) {
      Sample first = life.getFirst();
      Sample last = life.getLast();
      Sample base =
          life.stream()
              .filter(s -> s.atSeconds() - first.atSeconds() >= WARM_UP.toSeconds())
              .findFirst()
              .orElse(last);
      out.add(
          new Life(
              first.node(),
              first.pid(),
              last.atSeconds() - first.atSeconds(),
              base.rssMiB(),
              last.rssMiB(),
              life.stream().mapToDouble(Sample::rssMiB).max().orElse(0),
              base.fds(),
              last.fds(),
              life.stream().mapToInt(Sample::fds).max().orElse(0)));
    }
    return out;
  }

  @Override
  public void close() {
    if (task != null) task.close();
  }
}
