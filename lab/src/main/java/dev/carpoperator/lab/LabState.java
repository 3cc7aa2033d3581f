package dev.carpoperator.lab;

import dev.carpoperator.testing.kube.NodeCluster;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The state file of a kept lab ({@code DIR/state.properties}): the lab process, every process it
 * started (with their start times, so that a reused pid is never killed), its directories and
 * namespaces. {@link #tearDown} stops the lab process (its shutdown hook cleans up), then removes
 * whatever is left: processes, the nodes' containers, mounts and cgroups ({@link
 * NodeCluster#sweepStale}), namespaces (by the dead owner's pid, {@link NetnsLab#sweepStale}) and
 * directories.
 */
final class LabState {
  private final Path dir;

  /** A kept lab whose process is alive. */
  record Running(long pid, Properties props) {}

  LabState(Path dir) {
    this.dir = dir;
  }

  Path dir() {
    return dir;
  }

  Path file() {
    return dir.resolve("state.properties");
  }

  void write(Lab lab) {
    Properties p = new Properties();
    p.setProperty("pid", processKey(ProcessHandle.current()));
    p.setProperty(
        "processes",
        String.join(
            ",",
            lab.pids().stream()
                .map(ProcessHandle::of)
                .flatMap(Optional::stream)
                .map(LabState::processKey)
                .toList()));
    p.setProperty("kubeconfig", lab.controlPlane.kubeconfig().toString());
    p.setProperty("kubectl", lab.controlPlane.binDir().resolve("kubectl").toString());
    p.setProperty("controlPlaneDir", lab.controlPlane.workDir().toString());
    p.setProperty("labDir", lab.net.lab.dir().toString());
    p.setProperty("runtimeDir", lab.runtimeDirectory());
    p.setProperty("namespaces", lab.net.lab.id() + "-*");
    try (Writer w = Files.newBufferedWriter(file())) {
      p.store(w, "carp-operator lab kept running; ./carp lab down stops it");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void delete() {
    try {
      Files.deleteIfExists(file());
    } catch (IOException e) {
      // nothing to do
    }
  }

  private Properties read() {
    if (!Files.exists(file())) return null;
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file())) {
      p.load(r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  /** The kept lab, if its process is still alive. */
  Running running() {
    Properties p = read();
    if (p == null) return null;
    Optional<ProcessHandle> h = alive(p.getProperty("pid", ""));
    return h.map(ph -> new Running(ph.pid(), p)).orElse(null);
  }

  /** A state file whose lab process is gone (e.g. killed): removes what it left. */
  void clearStale(PrintStream out) {
    if (read() != null && running() == null) {
      out.println("carp lab: a previous lab died without cleaning up; removing what it left");
      tearDown(out);
    }
  }

  /**
   * Stops the kept lab and removes what is left; returns the exit status for {@code ./carp lab
   * down}.
   */
  int tearDown(PrintStream out) {
    Properties p = read();
    if (p == null) {
      NodeCluster.sweepStale();
      List<String> swept = NetnsLab.sweepStale();
      out.println(
          "carp lab: no lab is running (no "
              + file()
              + ")"
              + (swept.isEmpty() ? "" : "; removed stale namespaces " + swept));
      return 0;
    }
    long t0 = System.nanoTime();
    Optional<ProcessHandle> lab = alive(p.getProperty("pid", ""));
    if (lab.isPresent()) {
      out.println(
          "carp lab: stopping the lab (pid "
              + lab.get().pid()
              + "): pods, namespaces, operator, control plane");
      lab.get().destroy(); // SIGTERM: its shutdown hook closes everything in order
      try {
        lab.get().onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        out.println("carp lab: the lab did not stop within 60 s; killing it");
        lab.get().destroyForcibly();
      }
    }
    int killed = 0;
    for (String key : p.getProperty("processes", "").split(",")) {
      Optional<ProcessHandle> h = alive(key);
      if (h.isPresent()) {
        h.get().destroyForcibly();
        killed++;
      }
    }
    NodeCluster
        .sweepStale(); // the nodes' containers, mounts and cgroups, before their namespaces go
    List<String> swept = NetnsLab.sweepStale();
    for (String d :
        List.of(
            p.getProperty("controlPlaneDir", ""),
            p.getProperty("labDir", ""),
            p.getProperty("runtimeDir", ""))) deleteTree(d);
    delete();
    out.println(
        "carp lab: torn down in "
            + Printer.seconds(Duration.ofNanos(System.nanoTime() - t0))
            + (killed > 0 ? "; killed " + killed + " leftover processes" : "")
            + (swept.isEmpty() ? "" : "; removed leftover namespaces " + swept));
    return 0;
  }

  /** "pid@startMillis": identifies a process across pid reuse. */
  private static String processKey(ProcessHandle h) {
    return h.pid() + "@" + h.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
  }

  private static Optional<ProcessHandle> alive(String key) {
    String[] parts = key.split("@");
    if (parts.length != 2 || !parts[0].matches("\\d+")) return Optional.empty();
    return ProcessHandle.of(Long.parseLong(parts[0]))
        .filter(ProcessHandle::isAlive)
        .filter(
            h ->
                parts[1].equals(
                    String.valueOf(h.info().startInstant().map(Instant::toEpochMilli).orElse(0L))));
  }

  static void deleteTree(String dir) {
    if (dir.isBlank() || !Files.isDirectory(Path.of(dir))) return;
    try (Stream<Path> walk = Files.walk(Path.of(dir))) {
      walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // best effort
    }
  }
}
