package dev.carpoperator.bench.footprint;

import dev.carpoperator.agent.AgentMain;
import dev.carpoperator.bench.BenchContext;
import dev.carpoperator.bench.BenchPart;
import dev.carpoperator.bench.report.Machine;
import dev.carpoperator.bench.report.Plots;
import dev.carpoperator.bench.report.Result;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's resident memory and CPU with 1, 16 and 255 vhids, idle and under load. Two real
 * agents (separate JVMs running {@link AgentMain} from a standalone config) on one lab bridge, so
 * that elections and adverts really run: node {@code a} is the preferred master, {@code b} the
 * backup; both are measured.
 *
 * <ul>
 *   <li><b>idle</b>: the BSD-compatible profile at advbase 1 (a advskew 0, b 100), nothing
 *       happening but adverts.
 *   <li><b>load</b>: the fast profile (a advskew 26 ≈ 100 ms, b 52 ≈ 200 ms) for every vhid, and a
 *       link flap every {@value #FLAP_PERIOD_MILLIS} ms: a's switch port goes down for {@value
 *       #FLAP_DOWN_MILLIS} ms, so b takes over every vhid (adds and announces every address) and a,
 *       preempting, takes them back when its link returns.
 * </ul>
 *
 * <p>Memory is VmRSS and Pss at the end of the window (and the peak VmHWM); CPU is utime + stime
 * over the window as a share of one core. The JVM options are the agent image's
 * (images/agent/Containerfile) plus {@code -XX:MaxRAM=192m}, which makes the JVM size its heap as
 * it does under the DaemonSet's default 192Mi memory limit (a container-aware JVM reads the limit
 * from the cgroup; here there is no cgroup limit, so the heap would be sized from the machine's
 * RAM).
 */
public final class FootprintBench implements BenchPart {
  static final long FLAP_PERIOD_MILLIS = 5000;
  static final long FLAP_DOWN_MILLIS = 2000;

  /**
   * The agent image's JVM options (images/agent/Containerfile) and the DaemonSet's memory limit as
   * MaxRAM.
   */
  static final List<String> IMAGE_OPTIONS =
      List.of(
          "-XX:+UseSerialGC",
          "-Xss512k",
          "-XX:-UsePerfData",
          "-XX:TrimNativeHeapInterval=5000",
          "-XX:MaxRAM=192m");

  /**
   * A smaller-footprint variant to compare with (opt-in: variants=image,tuned): a capped heap and
   * the C1 JIT only.
   */
  static final List<String> TUNED_OPTIONS =
      List.of(
          "-XX:+UseSerialGC",
          "-Xss512k",
          "-XX:-UsePerfData",
          "-XX:TrimNativeHeapInterval=5000",
          "-XX:MaxRAM=192m",
          "-Xmx24m",
          "-XX:TieredStopAtLevel=1",
          "-XX:ReservedCodeCacheSize=16m",
          "-XX:MaxMetaspaceSize=64m");

  static final double RSS_TARGET_MIB = 96;
  static final double IDLE_CPU_TARGET_PERCENT = 1.0;

  @Override
  public String name() {
    return "footprint";
  }

  @Override
  public String description() {
    return "agent resident memory and CPU, idle and under load, with 1, 16 and 255 vhids";
  }

  record Measurement(
      String variant,
      int vhids,
      String phase,
      String node,
      double rssMiB,
      double pssMiB,
      double hwmMiB,
      double cpuPercent,
      long transitions,
      List<Double> rssSeriesMiB) {}

  @Override
  public void run(BenchContext ctx) throws Exception {
    List<Integer> vhidCounts =
        Arrays.stream(ctx.option("vhids", "1,16,255").split(","))
            .map(String::trim)
            .map(Integer::parseInt)
            .toList();
    List<String> variants =
        Arrays.stream(ctx.option("variants", "image").split(",")).map(String::trim).toList();
    int settle = ctx.intOption("settleSeconds", 30, 10);
    int window = ctx.intOption("windowSeconds", 60, 15);
    int loadSkew = ctx.intOption("loadAdvskew", 26, 26);
    int runs = variants.size() * vhidCounts.size() * 2;
    BenchContext.say(
        name(),
        String.format(
            "%d runs (variants %s × vhids %s × idle/load) of %d s settle + %d s window: about %d s",
            runs, variants, vhidCounts, settle, window, runs * (settle + window + 5)));

    List<Measurement> all = new ArrayList<>();
    for (String variant : variants) {
      List<String> jvm =
          switch (variant) {
            case "image" -> IMAGE_OPTIONS;
            case "tuned" -> TUNED_OPTIONS;
            default ->
                throw new IllegalArgumentException("variants: image or tuned, got " + variant);
          };
      for (int n : vhidCounts) {
        for (String phase : List.of("idle", "load")) {
          List<Measurement> ms = measure(variant, jvm, n, phase, settle, window, loadSkew);
          for (Measurement m : ms) {
            BenchContext.say(
                name(),
                String.format(
                    Locale.ROOT,
                    "%s %3d vhids %-4s node %s: RSS %.1f MiB, PSS %.1f MiB, CPU %.2f %% of a core, %d state changes",
                    variant,
                    n,
                    phase,
                    m.node(),
                    m.rssMiB(),
                    m.pssMiB(),
                    m.cpuPercent(),
                    m.transitions()));
          }
          all.addAll(ms);
        }
      }
    }
    ctx.save(result(ctx, all, variants, vhidCounts, settle, window, loadSkew));
  }

  private List<Measurement> measure(
      String variant,
      List<String> jvm,
      int vhids,
      String phase,
      int settle,
      int window,
      int loadSkew)
      throws Exception {
    boolean load = phase.equals("load");
    try (NetnsLab lab = NetnsLab.create()) {
      lab.addHost("a", "192.0.2.11/24");
      lab.addHost("b", "192.0.2.12/24");
      Map<String, LabProcess> agents = new LinkedHashMap<>();
      agents.put("a", start(lab, "a", jvm, config("a", vhids, load ? loadSkew : 0, load)));
      agents.put("b", start(lab, "b", jvm, config("b", vhids, load ? 2 * loadSkew : 100, load)));
      sleepSeconds(settle); // start-up, the first election, JIT warm-up
      for (LabProcess p : agents.values()) {
        if (!p.isAlive())
          throw new IllegalStateException("agent " + p.host() + " exited:\n" + p.output());
      }
      if (!addressesHeldBy(lab.host("a"), vhids)) {
        throw new IllegalStateException(
            "after "
                + settle
                + " s a does not hold its "
                + vhids
                + " addresses:\n"
                + tail(agents.get("a")));
      }

      Map<String, ProcStats> before = new LinkedHashMap<>();
      Map<String, Long> transitionsBefore = new LinkedHashMap<>();
      Map<String, List<Double>> rss = new LinkedHashMap<>();
      agents.forEach(
          (node, p) -> {
            before.put(node, ProcStats.of(p.pid()));
            transitionsBefore.put(node, transitions(p));
            rss.put(node, new ArrayList<>());
          });
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger flaps = new AtomicInteger();
      Thread flapper =
          load
              ? Thread.ofPlatform()
                  .name("link-flapper")
                  .start(() -> flap(lab.host("a"), stop, flaps))
              : null;
      long t0 = System.nanoTime();
      long end = t0 + window * 1_000_000_000L;
      Map<String, ProcStats> last = new LinkedHashMap<>(before);
      while (System.nanoTime() < end) {
        Thread.sleep(1000);
        agents.forEach(
            (node, p) -> {
              ProcStats s = ProcStats.of(p.pid());
              last.put(node, s);
              rss.get(node).add(s.rssKiB() / 1024.0);
            });
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (flapper != null) {
        stop.set(true);
        flapper.join();
        lab.host("a").restore(NetnsLab.Side.SWITCH);
      }
      List<Measurement> out = new ArrayList<>();
      agents.forEach(
          (node, p) -> {
            ProcStats s = last.get(node);
            double cpu =
                100.0
                    * (s.cpuTicks() - before.get(node).cpuTicks())
                    / ProcStats.TICKS_PER_SECOND
                    / seconds;
            out.add(
                new Measurement(
                    variant,
                    vhids,
                    phase,
                    node,
                    s.rssKiB() / 1024.0,
                    s.pssKiB() / 1024.0,
                    s.hwmKiB() / 1024.0,
                    cpu,
                    transitions(p) - transitionsBefore.get(node),
                    rss.get(node)));
          });
      return out;
    }
  }

  /** The load's link flaps: a's switch port down for FLAP_DOWN_MILLIS every FLAP_PERIOD_MILLIS. */
  private static void flap(NetnsLab.Host a, AtomicBoolean stop, AtomicInteger flaps) {
    try {
      while (!stop.get()) {
        a.cut(NetnsLab.Side.SWITCH);
        Thread.sleep(FLAP_DOWN_MILLIS);
        a.restore(NetnsLab.Side.SWITCH);
        flaps.incrementAndGet();
        Thread.sleep(FLAP_PERIOD_MILLIS - FLAP_DOWN_MILLIS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static LabProcess start(NetnsLab lab, String host, List<String> jvm, String yaml)
      throws IOException {
    Path file = lab.dir().resolve(host + "-agent.yaml");
    Files.writeString(file, yaml);
    // each host its own address record: the lab's hosts share the machine's /run
    return lab.host(host)
        .startJava(
            host + "-agent",
            AgentMain.class.getName(),
            jvm,
            "--config",
            file.toString(),
            "--runtime-dir",
            lab.dir().resolve(host + "-run").toString());
  }

  /**
   * A standalone config with {@code vhids} vhids on eth0, each with its own address: vhid v holds
   * 198.51.100.v/24 (v up to 254) and vhid 255 holds 203.0.113.1/24.
   */
  static String config(String node, int vhids, int advskew, boolean fast) {
    StringBuilder sb = new StringBuilder();
    sb.append("node: ")
        .append(node)
        .append("\npreempt: true\nlogFormat: json\nvirtualAddresses:\n");
    for (int v = 1; v <= vhids; v++) {
      sb.append("  - vhid: ")
          .append(v)
          .append('\n')
          .append("    interface: eth0\n")
          .append("    addresses: [\"")
          .append(address(v))
          .append("/24\"]\n")
          .append(fast ? "    advbase: 0\n    profile: fast\n" : "    advbase: 1\n")
          .append("    advskew: ")
          .append(advskew)
          .append('\n')
          .append("    password: \"bench\"\n");
    }
    return sb.toString();
  }

  static String address(int vhid) {
    return vhid <= 254 ? "198.51.100." + vhid : "203.0.113.1";
  }

  private static boolean addressesHeldBy(NetnsLab.Host host, int vhids) {
    String addrs = host.exec("ip", "-o", "addr", "show", "dev", NetnsLab.HOST_IF).stdout();
    for (int v = 1; v <= vhids; v++) if (!addrs.contains(" " + address(v) + "/")) return false;
    return true;
  }

  private static long transitions(LabProcess p) {
    return p.output().lines().filter(l -> l.contains("\"event\":\"state-change\"")).count();
  }

  private static String tail(LabProcess p) {
    List<String> lines = p.output().lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
  }

  private static void sleepSeconds(int s) throws InterruptedException {
    Thread.sleep(s * 1000L);
  }

  private Result result(
      BenchContext ctx,
      List<Measurement> all,
      List<String> variants,
      List<Integer> vhidCounts,
      int settle,
      int window,
      int loadSkew) {
    Path out = ctx.outDir();
    List<List<String>> rows = new ArrayList<>();
    Map<String, List<Double>> samples = new LinkedHashMap<>();
    for (Measurement m : all) {
      rows.add(
          List.of(
              m.variant(),
              Integer.toString(m.vhids()),
              m.phase(),
              m.node() + (m.node().equals("a") ? " (master)" : " (backup)"),
              fmt1(m.rssMiB()),
              fmt1(m.pssMiB()),
              fmt1(m.hwmMiB()),
              fmt2(m.cpuPercent()),
              Long.toString(m.transitions())));
      String key = m.variant() + "/" + m.vhids() + "/" + m.phase() + "/" + m.node();
      samples.put(key + "/rss_mib_per_second", m.rssSeriesMiB());
      samples.put(key + "/cpu_percent", List.of(m.cpuPercent()));
    }
    Result.Table table =
        new Result.Table(
            "Agent footprint (RSS and PSS at the end of the window, HWM the peak; CPU over the window)",
            List.of(
                "JVM options",
                "vhids",
                "phase",
                "node",
                "RSS MiB",
                "PSS MiB",
                "peak RSS MiB",
                "CPU % of a core",
                "state changes in window"),
            rows,
            "idle: BSD profile advbase 1; load: fast profile (a advskew "
                + loadSkew
                + ", b "
                + 2 * loadSkew
                + ") and a's link cut for "
                + FLAP_DOWN_MILLIS
                + " ms every "
                + FLAP_PERIOD_MILLIS
                + " ms. "
                + window
                + " s window after "
                + settle
                + " s settle.");

    // one bar group per (vhids, phase), one series per node, for the main variant
    String main = variants.getFirst();
    List<String> categories = new ArrayList<>();
    Map<String, List<Double>> rssBars = new LinkedHashMap<>();
    Map<String, List<Double>> cpuBars = new LinkedHashMap<>();
    for (int n : vhidCounts) {
      for (String phase : List.of("idle", "load")) {
        categories.add(n + " vhids " + phase);
        for (String node : List.of("a", "b")) {
          String series = node.equals("a") ? "a (master)" : "b (backup)";
          Measurement m =
              all.stream()
                  .filter(
                      x ->
                          x.variant().equals(main)
                              && x.vhids() == n
                              && x.phase().equals(phase)
                              && x.node().equals(node))
                  .findFirst()
                  .orElseThrow();
          rssBars.computeIfAbsent(series, k -> new ArrayList<>()).add(m.rssMiB());
          cpuBars.computeIfAbsent(series, k -> new ArrayList<>()).add(m.cpuPercent());
        }
      }
    }
    List<Result.Plot> plots =
        List.of(
            new Result.Plot(
                Plots.bars(
                    out,
                    "footprint-rss.png",
                    "Agent resident memory (" + main + " JVM options)",
                    "VmRSS (MiB)",
                    categories,
                    rssBars),
                "Agent VmRSS at the end of each window; the target is under "
                    + (int) RSS_TARGET_MIB
                    + " MiB with 16 vhids."),
            new Result.Plot(
                Plots.bars(
                    out,
                    "footprint-cpu.png",
                    "Agent CPU (" + main + " JVM options)",
                    "% of one core",
                    categories,
                    cpuBars),
                "Agent CPU (utime + stime) over each window; the target is under "
                    + IDLE_CPU_TARGET_PERCENT
                    + " % of a core at idle."));

    List<String> notes = new ArrayList<>();
    notes.add(
        "Two real agents (AgentMain --config, separate JVMs) in a network-namespace lab on one bridge; a is the preferred master, "
            + "b the backup; vhid v holds 198.51.100.v/24 (vhid 255: 203.0.113.1/24), all on eth0.");
    notes.add(
        "JVM options ("
            + main
            + "): "
            + String.join(" ", main.equals("tuned") ? TUNED_OPTIONS : IMAGE_OPTIONS)
            + ". The agent image runs java -XX:+UseSerialGC -Xss512k -XX:-UsePerfData -XX:TrimNativeHeapInterval=5000; -XX:MaxRAM=192m stands in for the DaemonSet's default "
            + "192Mi memory limit, from which a container-aware JVM sizes its default heap (a quarter: 48 MiB).");
    notes.add(
        "The agents run from the bench's classpath (the agent's jars plus the operator's and the bench's, loaded only on demand), "
            + "not the image's; the JDK is this machine's ("
            + Runtime.version()
            + ").");
    notes.add(
        "Memory is read from /proc/PID/status (VmRSS, VmHWM) and /proc/PID/smaps_rollup (Pss); CPU from /proc/PID/stat "
            + "(utime + stime) over the window, divided by the window's wall time: 100 % is one core.");
    for (String variant : variants) {
      Measurement rss16 =
          all.stream()
              .filter(m -> m.variant().equals(variant) && m.vhids() == 16)
              .max((x, y) -> Double.compare(x.rssMiB(), y.rssMiB()))
              .orElse(null);
      if (rss16 != null) {
        notes.add(
            String.format(
                Locale.ROOT,
                "Target (%s): under %.0f MiB resident with 16 vhids: %s (largest: %.1f MiB, node %s, %s).",
                variant,
                RSS_TARGET_MIB,
                rss16.rssMiB() < RSS_TARGET_MIB
                    ? "met"
                    : "MISSED by " + fmt1(rss16.rssMiB() - RSS_TARGET_MIB) + " MiB",
                rss16.rssMiB(),
                rss16.node(),
                rss16.phase()));
      }
      for (int n : vhidCounts) {
        Measurement idle =
            all.stream()
                .filter(
                    m -> m.variant().equals(variant) && m.vhids() == n && m.phase().equals("idle"))
                .max((x, y) -> Double.compare(x.cpuPercent(), y.cpuPercent()))
                .orElse(null);
        if (idle == null) continue;
        notes.add(
            String.format(
                Locale.ROOT,
                "Target (%s, %d vhids): under %.0f %% of a core at idle: %s (busiest node %s: %.2f %%).",
                variant,
                n,
                IDLE_CPU_TARGET_PERCENT,
                idle.cpuPercent() < IDLE_CPU_TARGET_PERCENT ? "met" : "MISSED",
                idle.node(),
                idle.cpuPercent()));
      }
    }
    notes.add(
        "CPU shares are of a 2-core machine that other work may share during the run; memory does not depend on that.");
    return new Result(
        name(),
        "Footprint: agent memory and CPU",
        Instant.now(),
        ctx.command(name()),
        Machine.describe(),
        List.of(table),
        plots,
        samples,
        notes);
  }

  private static String fmt1(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  private static String fmt2(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }
}
