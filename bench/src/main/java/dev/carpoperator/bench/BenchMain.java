package dev.carpoperator.bench;

import dev.carpoperator.bench.footprint.FootprintBench;
import dev.carpoperator.bench.report.ReportWriter;
import dev.carpoperator.bench.scale.ScaleBench;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code ./carp bench}: runs the bench parts named on the command line (all when none is named),
 * each writing {@code <out>/<part>.json} and its plots, then renders {@code <out>/report.md}.
 *
 * <pre>
 *   BenchMain [--quick] [--out DIR] [key=value ...] [PART ...]
 *   BenchMain report [--out DIR]      only re-render report.md from the JSON files
 * </pre>
 */
public final class BenchMain {
  static final Path DEFAULT_OUT = Path.of("bench-results");

  /** Every part, in the order {@code ./carp bench} runs them. */
  static List<BenchPart> parts() {
    List<BenchPart> parts = new ArrayList<>();
    // parts register here
    parts.add(new dev.carpoperator.bench.failover.FailoverBench());
    parts.add(new dev.carpoperator.bench.sync.SyncPart());
    parts.add(new FootprintBench());
    parts.add(new ScaleBench());
    return parts;
  }

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    System.setProperty("java.awt.headless", "true");
    // a named file, not logback.xml: the agents started from this classpath must keep their own
    // logging
    if (System.getProperty("logback.configurationFile") == null)
      System.setProperty("logback.configurationFile", "carp-bench-logback.xml");
    boolean quick = false;
    boolean reportOnly = false;
    Path out = DEFAULT_OUT;
    Map<String, String> options = new LinkedHashMap<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--quick" -> quick = true;
        case "--out" -> out = Path.of(args[++i]);
        case "report" -> reportOnly = true;
        case "-h", "--help" -> {
          usage();
          return;
        }
        default -> {
          if (a.contains("="))
            options.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
          else names.add(a);
        }
      }
    }
    Map<String, BenchPart> byName = new LinkedHashMap<>();
    for (BenchPart p : parts()) byName.put(p.name(), p);
    List<BenchPart> selected = new ArrayList<>();
    for (String n : names) {
      BenchPart p = byName.get(n);
      if (p == null) {
        System.err.println(
            "carp bench: unknown part '"
                + n
                + "'; the parts are "
                + String.join(", ", byName.keySet()));
        System.exit(2);
      }
      selected.add(p);
    }
    if (selected.isEmpty() && !reportOnly) selected.addAll(byName.values());

    BenchContext ctx = new BenchContext(out.toAbsolutePath(), quick, Map.copyOf(options));
    int failed = 0;
    for (BenchPart p : selected) {
      long t0 = System.nanoTime();
      BenchContext.say(p.name(), "starting: " + p.description() + (quick ? " (quick)" : ""));
      try {
        p.run(ctx);
        BenchContext.say(p.name(), String.format("done in %.0f s", (System.nanoTime() - t0) / 1e9));
      } catch (Exception | AssertionError e) {
        failed++;
        BenchContext.say(p.name(), "FAILED: " + e);
        e.printStackTrace();
      }
    }
    Path report = ReportWriter.write(ctx.outDir());
    System.out.println("[bench] report: " + report);
    System.exit(failed == 0 ? 0 : 1);
  }

  private static void usage() {
    System.out.println(
        "usage: ./carp bench [--quick] [--out DIR] [key=value ...] [PART ...] | ./carp bench report [--out DIR]");
    System.out.println("parts (all by default, in this order):");
    for (BenchPart p : parts()) System.out.printf("  %-12s %s%n", p.name(), p.description());
  }
}
