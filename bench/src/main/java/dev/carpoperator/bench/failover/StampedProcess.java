package dev.carpoperator.bench.failover;

import dev.carpoperator.testing.netns.NetnsLab;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A process in a lab host whose output lines are kept in memory, each stamped with the wall-clock
 * time it arrived (microseconds), and copied to a log file. The stamp is how a keepalived decision
 * gets a sub-second time (its own log has whole seconds); the other daemons' lines carry their own
 * timestamps.
 */
final class StampedProcess implements AutoCloseable {
  /** One output line and when the bench read it. */
  record Line(Instant at, String text) {}

  private final String label;
  private final Process process;
  private final List<Line> lines = new ArrayList<>();

  private StampedProcess(String label, Process process, Path log) {
    this.label = label;
    this.process = process;
    Thread.ofPlatform().daemon().name("out-" + label).start(() -> pump(log));
  }

  /**
   * Starts {@code command} inside {@code host}'s namespace; output (stdout and stderr) goes to
   * {@code log} too.
   */
  static StampedProcess start(NetnsLab.Host host, String label, Path log, List<String> command) {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", host.namespace()));
    cmd.addAll(command);
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectInput(new File("/dev/null"))
              .start();
      return new StampedProcess(label, p, log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + label, e);
    }
  }

  private void pump(Path log) {
    try (BufferedReader r =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Writer w =
            Files.newBufferedWriter(
                log,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
      for (String l; (l = r.readLine()) != null; ) {
        Instant at = Instant.now();
        synchronized (lines) {
          lines.add(new Line(at, l));
        }
        w.write(at + " " + l + "\n");
        w.flush();
      }
    } catch (IOException e) {
      // the process is gone; what was read stays in lines
    }
  }

  /** A copy of the lines from index {@code from} on. */
  List<Line> linesFrom(int from) {
    synchronized (lines) {
      return List.copyOf(lines.subList(Math.min(from, lines.size()), lines.size()));
    }
  }

  List<String> textFrom(int from) {
    return linesFrom(from).stream().map(Line::text).toList();
  }

  /** How many lines so far: a mark for {@link #linesFrom}. */
  int mark() {
    synchronized (lines) {
      return lines.size();
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  String label() {
    return label;
  }

  /**
   * SIGKILL to the process and everything it started (keepalived's VRRP child, the agent's ip
   * process), as a crash; does not wait.
   */
  void kill() {
    List<ProcessHandle> children = process.descendants().toList();
    children.forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  /**
   * SIGTERM to the process only (the daemon's own clean shutdown), then SIGKILL after {@code
   * grace}.
   */
  void terminate(Duration grace) {
    process.destroy();
    if (!awaitExit(grace)) {
      kill();
      awaitExit(Duration.ofSeconds(5));
    }
  }

  boolean awaitExit(Duration d) {
    try {
      return process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The last lines, for error messages. */
  String tail(int n) {
    List<String> t = textFrom(0);
    return label + ":\n  " + String.join("\n  ", t.subList(Math.max(0, t.size() - n), t.size()));
  }

  @Override
  public void close() {
    if (process.isAlive()) terminate(Duration.ofSeconds(5));
  }
}
