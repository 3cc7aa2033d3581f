package dev.carpoperator.bench.torture;

import dev.carpoperator.bench.report.Machine;
import dev.carpoperator.bench.report.Plots;
import dev.carpoperator.bench.report.ReportWriter;
import dev.carpoperator.bench.report.Result;
import dev.carpoperator.bench.report.ResultStore;
import dev.carpoperator.bench.report.Samples;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code ./carp torture}: the four-node torture run ({@link TortureLab}, {@link ChaosDriver});
 * prints a line per step and a summary, writes {@code <out>/torture.json} and re-renders {@code
 * <out>/report.md}. Exit status 0 when no session was interrupted and every step converged.
 *
 * <pre>
 *   TortureMain [--duration 30m] [--seed N] [--connections 24] [--stall 30s] [--wave 4] [--nat]
 *               [--faults kill,stop,cut,crash,sync_cut,link_cut,sync_impair,freeze | all] [--second-fault 0.5]
 *               [--keep-logs] [--out bench-results]
 * </pre>
 */
public final class TortureMain {
  private TortureMain() {}

  public static void main(String[] args) throws Exception {
    if (System.getProperty("logback.configurationFile") == null)
      System.setProperty("logback.configurationFile", "carp-bench-logback.xml");
    Duration duration = Duration.ofMinutes(30);
    long seed = ThreadLocalRandom.current().nextLong(1, 1_000_000_000L);
    int connections = 24;
    Duration stall = Duration.ofSeconds(30);
    boolean nat = false;
    int wave = 4;
    List<ChaosDriver.Action> faults = ChaosDriver.Action.ALL;
    double secondFault = TortureOptions.DEFAULT_SECOND_FAULT_CHANCE;
    Path out = Path.of("bench-results");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--duration" -> duration = parseDuration(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--connections" -> connections = Integer.parseInt(args[++i]);
        case "--stall" -> stall = parseDuration(args[++i]);
        case "--nat" -> nat = true;
        case "--keep-logs" ->
            System.setProperty("carp.netns.keepLogs", "true"); // NetnsLab keeps its directory
        case "--wave" -> wave = Integer.parseInt(args[++i]);
        case "--faults" -> faults = ChaosDriver.Action.parseList(args[++i]);
        case "--second-fault" -> secondFault = Double.parseDouble(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        case "-h", "--help" -> {
          System.out.println(
              "usage: ./carp torture [--duration 30m] [--seed N] [--connections 24] [--stall 30s] [--wave 4] [--nat] [--faults "
                  + String.join(
                      ",", ChaosDriver.Action.ALL.stream().map(ChaosDriver.Action::label).toList())
                  + "|all] [--second-fault 0.5] [--keep-logs] [--out DIR]");
          return;
        }
        default -> {
          System.err.println("carp torture: unknown argument " + args[i] + " (--help lists them)");
          System.exit(2);
        }
      }
    }
    TortureOptions options =
        TortureOptions.of(seed, duration)
            .withConnections(connections)
            .withStallLimit(stall)
            .withSourceNat(nat)
            .withWaveConnections(wave)
            .withFaults(faults)
            .withSecondFaultChance(secondFault);
    TortureReport report;
    try (TortureLab lab = TortureLab.create(nat)) {
      report =
          new ChaosDriver(
                  lab,
                  options,
                  line -> {
                    System.out.println(line);
                    System.out.flush();
                  })
              .run();
    }
    String command =
        "sudo ./carp torture --duration "
            + args(duration)
            + " --seed "
            + seed
            + (connections != 24 ? " --connections " + connections : "")
            + (wave != 4 ? " --wave " + wave : "")
            + (nat ? " --nat" : "")
            + faultsArg(faults)
            + (secondFault != TortureOptions.DEFAULT_SECOND_FAULT_CHANCE
                ? " --second-fault " + secondFault
                : "");
    ResultStore store = new ResultStore(out.toAbsolutePath());
    store.write(result(report, options, command, store.dir()));
    Path md = ReportWriter.write(store.dir());
    System.out.println("[torture] results: " + store.dir().resolve("torture.json") + ", " + md);
    System.exit(report.interrupted().isEmpty() && report.notConverged() == 0 ? 0 : 1);
  }

  /** {@code out}: the directory for the plots (null: none). */
  static Result result(TortureReport r, TortureOptions o, String command, Path out) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("chaos duration", String.format("%d s", r.durationMillis() / 1000)));
    rows.add(List.of("fault kinds", String.join(", ", r.faults())));
    rows.add(List.of("steps (actions and recoveries)", r.steps() + " " + r.actions()));
    rows.add(List.of("failovers (lan VIP master changes)", Integer.toString(r.failovers())));
    rows.add(List.of("master changes per VIP", r.failoversByVip().toString()));
    rows.add(
        List.of(
            "failovers survived (every session intact and flowing after the step)",
            Integer.toString(r.failoversSurvived())));
    rows.add(
        List.of(
            "sessions (long-lived + opened during the chaos, "
                + o.waveConnections()
                + " after each disturbing step)",
            r.sessions()
                + " ("
                + o.connections()
                + " + "
                + (r.sessions() - o.connections())
                + ")"));
    rows.add(
        List.of(
            "sessions interrupted (reset, mismatch, EOF or stalled > "
                + o.stallLimit().toSeconds()
                + " s)",
            r.interrupted().size() + (r.interrupted().isEmpty() ? "" : " " + r.interrupted())));
    rows.add(
        List.of(
            "longest stall of a session",
            String.format("%.1f s", r.longestStallMillis() / 1000.0)));
    rows.add(
        List.of(
            "samples with two running, connected agents holding one VIP (every 500 ms)",
            Integer.toString(r.splitBrainSamples())));
    rows.add(
        List.of(
            "of which handover overlaps (<= "
                + ChaosDriver.OVERLAP_MILLIS / 1000
                + " s) / split brains (longer)",
            r.overlapEpisodes()
                + " / "
                + r.splitBrainEpisodes()
                + (r.splitBrainSamples() == 0
                    ? ""
                    : String.format(", longest %.1f s", r.splitBrainLongestMillis() / 1000.0))));
    rows.add(
        List.of(
            "samples with the two VIPs on different nodes",
            Integer.toString(r.vipsApartSamples())));
    rows.add(
        List.of(
            "steps not converged within " + o.settle().toSeconds() + " s",
            Integer.toString(r.notConverged())));
    Samples conv = Samples.of(r.convergeMillis());
    rows.add(
        List.of(
            "convergence after a step (action to one master holding both VIPs), p50 / p95 / max",
            conv.count() == 0
                ? "n/a"
                : String.format(
                    "%.1f / %.1f / %.1f s",
                    conv.p50() / 1000, conv.p95() / 1000, conv.max() / 1000)));
    rows.add(List.of("longest stall per step, by kind of step (s)", r.stallSummary()));
    for (String life : r.agentLives()) rows.add(List.of("agent process", life));
    Map<String, List<Double>> samples = new LinkedHashMap<>();
    samples.put("convergeMillis", r.convergeMillis());
    r.stallSecondsByKind().forEach((kind, v) -> samples.put("stallSeconds " + kind, v));
    List<String> notes = new ArrayList<>();
    notes.add(
        "Four firewalls, CARP (2 vhids, advskew 0/50/100/150, preempt) and multicast state sync; "
            + r.sessions()
            + " byte-checked TCP sessions through the VIPs (long-lived and opened during the chaos); seed "
            + r.seed()
            + ". See docs/torture.md.");
    notes.addAll(r.events());
    List<Result.Plot> plots = new ArrayList<>();
    if (out != null && !r.stallSecondsByKind().isEmpty()) {
      plots.add(
          new Result.Plot(
              Plots.box(
                  out,
                  "torture-stalls.png",
                  "Longest session stall per step, by kind of step",
                  "seconds",
                  r.stallSecondsByKind()),
              "Per step, the longest time a session verified no byte; \"kill: back\" is the recovery of a kill."));
    }
    if (out != null && !r.resourceSamples().isEmpty()) {
      Map<String, List<double[]>> rss = new LinkedHashMap<>();
      Map<String, List<double[]>> fds = new LinkedHashMap<>();
      for (ResourceSampler.Sample s : r.resourceSamples()) {
        rss.computeIfAbsent(s.node(), k -> new ArrayList<>())
            .add(new double[] {s.atSeconds() / 60, s.rssMiB()});
        fds.computeIfAbsent(s.node(), k -> new ArrayList<>())
            .add(new double[] {s.atSeconds() / 60, s.fds()});
      }
      plots.add(
          new Result.Plot(
              Plots.lines(out, "torture-rss.png", "Agent resident memory", "minutes", "MiB", rss),
              "Every agent's RSS through the run (a restart starts again low)."));
      plots.add(
          new Result.Plot(
              Plots.lines(
                  out, "torture-fds.png", "Agent open file descriptors", "minutes", "fds", fds),
              "Every agent's open file descriptors through the run."));
    }
    return new Result(
        "torture",
        "Torture: four nodes killed, stopped, cut off, rebooted, frozen and their links cut or impaired under long-lived TCP sessions",
        Instant.now(),
        command,
        Machine.describe(),
        List.of(new Result.Table("Torture run", List.of("", "value"), rows, null)),
        plots,
        samples,
        notes);
  }

  /** {@code " --faults kill,freeze"}, or nothing for every kind (the default). */
  static String faultsArg(List<ChaosDriver.Action> faults) {
    return faults.equals(ChaosDriver.Action.ALL)
        ? ""
        : " --faults " + String.join(",", faults.stream().map(ChaosDriver.Action::label).toList());
  }

  private static String args(Duration d) {
    return d.toSeconds() % 60 == 0 ? d.toMinutes() + "m" : d.toSeconds() + "s";
  }

  /** {@code 90s}, {@code 30m}, {@code 2h}, or plain seconds. */
  static Duration parseDuration(String s) {
    String v = s.trim().toLowerCase();
    if (v.endsWith("h")) return Duration.ofHours(Long.parseLong(v.substring(0, v.length() - 1)));
    if (v.endsWith("m")) return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
    if (v.endsWith("s")) return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
    return Duration.ofSeconds(Long.parseLong(v));
  }
}
