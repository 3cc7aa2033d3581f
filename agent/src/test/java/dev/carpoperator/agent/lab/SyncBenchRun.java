package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Measures the state sync between two real agents (separate JVMs, standalone configs with a {@code
 * sync:} section, authenticated mode, multicast on a dedicated link) and prints the figures;
 * asserts only that the bench ran, never how fast. On demand: the class name does not match
 * surefire's default includes, so name it with {@code -Dtest=SyncBenchRun
 * -Dsurefire.failIfNoSpecifiedTests=false}. Properties: {@code carp.bench.delays} (maxDelayMillis
 * values, default 50,0), {@code carp.bench.rounds} (latency rounds, 50), {@code carp.bench.bursts}
 * (burst sizes, 10000,50000), {@code carp.bench.burstDelays} (maxDelayMillis values with bursts,
 * 50), {@code carp.bench.idleSeconds} (CPU window after a burst, 10; 0 skips it), {@code
 * carp.bench.receiver} ({@code agent}, the default, or {@code snaplen:N}: b runs {@link
 * SyncNodeMain}, the same sync engine with that capture snaplen instead of the agent's 65535, and
 * no CARP).
 *
 * <pre>
 *   a eth0 192.0.2.11 ── lab switch ── b eth0 192.0.2.12      (CARP vhid 1, VIP 192.0.2.100; a master)
 *   a sync0 198.51.100.1 ── sync ───── b sync0 198.51.100.2   (pfsync, 224.0.0.240, HMAC envelope)
 * </pre>
 *
 * Every conntrack entry is written by {@link SyncBench} in a's namespace, i.e. by a process other
 * than the agent, exactly as packets would create them; a {@link SyncBench} watcher in b's
 * namespace timestamps the NEW events of b's table (the events of the agent's writes). Both use
 * CLOCK_MONOTONIC, so arrival minus creation is the replication latency. Before each phase both
 * agents are stopped, both tables flushed and the agents started again.
 *
 * <ol>
 *   <li>Latency: one entry per round, at a random point of the agents' 10 ms tick; creation to b's
 *       NEW event.
 *   <li>Throughput: N entries as fast as a's kernel takes them; from the first write on a to the
 *       N-th NEW event on b (or the last, when fewer arrive). CPU of both agent JVMs from
 *       /proc/PID/stat over that window; b's table counted by a dump; the sync metrics, warnings,
 *       sync0's packet counters and the agent's capture ring show where states were lost. Then the
 *       CPU of both agents while idle with N states.
 *   <li>Bulk update: with a holding the burst, b's agent is stopped, b's table flushed and b
 *       started again; from the start to b's {@code sync-bulk} DONE line, and whether b's table
 *       then holds every entry.
 * </ol>
 */
class SyncBenchRun {
  static final String VIP = "192.0.2.100";
  static final int METRICS_PORT = 9402;
  static final Duration SETTLE = Duration.ofSeconds(40);
  private static final Pattern DONE =
      Pattern.compile(
          "\\{\"@timestamp\":\"([^\"]+)\",\"message\":\"bulk update done: (\\d+) states in (\\d+) ms\"[^\\n]*\"event\":\"sync-bulk\"");
  private static final Pattern COUNT = Pattern.compile("(?m)^COUNT (\\d+) (\\d+) (\\d+) (\\d+)$");
  private static final Pattern SEEN = Pattern.compile("(?m)^SEEN (\\d+) (\\d+) (\\d+)$");
  private static final Pattern CREATED = Pattern.compile("(?m)^CREATED (\\d+) (\\d+) (\\d+)$");
  private static final Pattern BURST = Pattern.compile("(?m)^BURST (\\d+) (\\d+) (\\d+) (\\d+)$");
  private static final Pattern TABLE = Pattern.compile("(?m)^TABLE (\\S+) (\\d+)$");

  private final List<String> report = new ArrayList<>();
  private final Map<String, LabProcess> nodes = new HashMap<>();

  /** Where the current process's lines start in a node's log (restarts append to the same file). */
  private final Map<String, Integer> logStart = new HashMap<>();

  /**
   * "agent", or "snaplen:N": b runs {@link SyncNodeMain} with that capture snaplen instead of the
   * agent.
   */
  private String receiver;

  private int delay;
  private AgentLab lab;
  private LabProcess watcher;
  private long clockTicks;
  private int nextGroup = SyncBench.COUNTED_FROM;

  @Test
  void printFigures() throws Exception {
    List<Integer> delays = ints(System.getProperty("carp.bench.delays", "50,0"));
    List<Integer> bursts = ints(System.getProperty("carp.bench.bursts", "10000,50000"));
    List<Integer> burstDelays = ints(System.getProperty("carp.bench.burstDelays", "50"));
    int rounds = Integer.getInteger("carp.bench.rounds", 50);
    int idleSeconds = Integer.getInteger("carp.bench.idleSeconds", 10);
    receiver = System.getProperty("carp.bench.receiver", "agent");
    clockTicks = Long.parseLong(exec("getconf", "CLK_TCK").strip());
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      lab = l;
      l.lab.addSwitch("sync");
      l.lab.host("a").addInterface("sync0", "sync", "198.51.100.1/24");
      l.lab.host("b").addInterface("sync0", "sync", "198.51.100.2/24");
      Files.writeString(
          l.lab.dir().resolve("sync.key"),
          "bench-sync-key-0123456789abcdefghij\n",
          StandardCharsets.US_ASCII);
      watcher = host("b").startJava("watch", SyncBench.class, "watch");
      awaitOutput(watcher, "READY", Duration.ofSeconds(20));
      line(
          "SYNC-BENCH java %s, kernel %s, %d cores; a: agent, b: %s; authenticated multicast sync on a veth link, MTU %s",
          Runtime.version(),
          System.getProperty("os.version"),
          Runtime.getRuntime().availableProcessors(),
          receiver.equals("agent") ? "agent" : "sync only (SyncNodeMain), capture " + receiver,
          host("a").exec("cat", "/sys/class/net/sync0/mtu").stdout().strip());
      int latencyGroup = 1;
      for (int delay : delays) {
        reset(delay);
        if (rounds > 0) latency(delay, latencyGroup++, rounds);
        if (!burstDelays.contains(delay)) continue;
        for (int n : bursts) {
          reset(delay);
          int group = nextGroup++;
          burst(delay, group, n, idleSeconds);
          bulk(delay, group, n);
        }
      }
      line(
          "SYNC-BENCH watcher event overruns in all (table flushes included): %d",
          watcherOverruns());
    } finally {
      System.out.println(String.join("\n", report));
    }
    assertThat(report).anyMatch(s -> s.contains(" latency ") || s.contains(" burst "));
  }

  // ---- phases
  // ---------------------------------------------------------------------------------------------

  private void latency(int delay, int group, int rounds) throws InterruptedException {
    int before = count(SEEN, watcher.output());
    LabProcess creator =
        host("a")
            .startJava(
                "latency-" + group,
                SyncBench.class,
                "latency",
                str(group),
                str(rounds),
                "100",
                "300");
    if (creator.waitFor(Duration.ofMinutes(2)) != 0)
      throw new AssertionError("latency creator failed:\n" + creator.output());
    Map<Integer, Long> created = new HashMap<>();
    matches(CREATED, creator.output())
        .forEach(m -> created.put(Integer.parseInt(m[1]), Long.parseLong(m[2])));
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (count(SEEN, watcher.output()) - before < rounds && System.nanoTime() < deadline)
      Thread.sleep(50);
    List<Double> ms = new ArrayList<>();
    for (String[] m : matches(SEEN, watcher.output())) {
      if (Integer.parseInt(m[0]) != group) continue;
      Long t = created.get(Integer.parseInt(m[1]));
      if (t != null) ms.add((Long.parseLong(m[2]) - t) / 1e6);
    }
    System.out.println(
        "SYNC-BENCH latency samples in round order (ms): "
            + ms.stream().map(v -> String.format("%.1f", v)).toList());
    line(
        "SYNC-BENCH latency maxDelayMillis=%d: %s ms (%d created, %d arrived)",
        delay, summary(ms), created.size(), ms.size());
  }

  private void burst(int delay, int group, int n, int idleSeconds) throws Exception {
    long[] cpuA0 = cpu("a");
    long[] cpuB0 = cpu("b");
    long[] tx0 = nicCounters("a", "TX");
    long[] rx0 = nicCounters("b", "RX");
    long overruns0 = watcherOverruns();
    LabProcess creator =
        host("a").startJava("burst-" + group, SyncBench.class, "burst", str(group), str(n));
    if (creator.waitFor(Duration.ofMinutes(2)) != 0)
      throw new AssertionError("burst creator failed:\n" + creator.output());
    String[] b = matches(BURST, creator.output()).getFirst();
    long t0 = Long.parseLong(b[2]);
    long t1 = Long.parseLong(b[3]);
    // until b has all, or nothing new arrived for 12 s (longer than a's 10 s refresh, which catches
    // lost events);
    // the CPU times are those sampled when the count last changed
    long[] seen = watched(group);
    long lastChange = System.nanoTime();
    long[] cpuA1 = cpu("a");
    long[] cpuB1 = cpu("b");
    while (seen[0] < n && System.nanoTime() - lastChange < 12_000_000_000L) {
      Thread.sleep(20);
      long[] now = watched(group);
      if (now[0] != seen[0]) {
        lastChange = System.nanoTime();
        cpuA1 = cpu("a");
        cpuB1 = cpu("b");
      }
      seen = now;
    }
    double seconds = (seen[2] - t0) / 1e9;
    line(
        "SYNC-BENCH burst maxDelayMillis=%d N=%d: written on a in %.0f ms (%.0f/s); %d of %d in b's table, the last %.0f ms after the first write: %.0f states/s; first arrival after %.1f ms",
        delay,
        n,
        (t1 - t0) / 1e6,
        n / ((t1 - t0) / 1e9),
        seen[0],
        n,
        seconds * 1e3,
        seen[0] / seconds,
        (seen[1] - t0) / 1e6);
    line(
        "SYNC-BENCH burst N=%d agent CPU from the first write to the last arrival (%.1f s): a %s, b %s",
        n, (cpuA1[2] - cpuA0[2]) / 1e9, cpuText(cpuA0, cpuA1), cpuText(cpuB0, cpuB1));
    long inTable = table("b").getOrDefault(str(group), 0L);
    line(
        "SYNC-BENCH burst N=%d b's table (dump) %d of %d; watcher overruns during the burst: %d",
        n, inTable, n, watcherOverruns() - overruns0);
    metrics("burst N=" + n);
    linkStats("burst N=" + n, tx0, rx0);
    if (idleSeconds > 0) {
      long[] a0 = cpu("a");
      long[] b0 = cpu("b");
      Thread.sleep(idleSeconds * 1000L);
      line(
          "SYNC-BENCH idle with %d states, %d s (one 10 s refresh dump each): a %s, b %s",
          n, idleSeconds, cpuText(a0, cpu("a")), cpuText(b0, cpu("b")));
    }
  }

  private void bulk(int delay, int group, int n) throws Exception {
    node("b").stop(Duration.ofSeconds(10));
    host("b").exec("conntrack", "-F");
    assertThat(table("b").getOrDefault(str(group), 0L)).isZero();
    int before = count(DONE, node("b").output());
    Instant start = Instant.now();
    long[] cpu0 = null;
    startNode("b");
    long deadline = System.nanoTime() + 120_000_000_000L;
    String[] done = null;
    while (done == null && System.nanoTime() < deadline) {
      if (cpu0 == null) cpu0 = cpuOrNull("b");
      List<String[]> all = matches(DONE, node("b").output());
      if (all.size() > before) done = all.get(before);
      else Thread.sleep(20);
    }
    if (done == null) throw new AssertionError("b logged no bulk DONE\n" + tails());
    long[] cpu1 = cpu("b");
    double fromStart =
        Duration.between(start, OffsetDateTime.parse(done[0]).toInstant()).toNanos() / 1e6;
    Map<String, Long> tableB = table("b");
    Map<String, Long> tableA = table("a");
    long inB = tableB.getOrDefault(str(group), 0L);
    line(
        "SYNC-BENCH bulk maxDelayMillis=%d, a holds %d: b's DONE %.0f ms after its start (JVM start included); the agent says \"%s states in %s ms\" (%.0f states/s); b's table %d of %d (total %d, a %d)",
        delay,
        tableA.getOrDefault(str(group), 0L),
        fromStart,
        done[1],
        done[2],
        Long.parseLong(done[1]) / (Long.parseLong(done[2]) / 1e3),
        inB,
        n,
        tableB.getOrDefault("total", 0L),
        tableA.getOrDefault("total", 0L));
    if (cpu0 != null)
      line(
          "SYNC-BENCH bulk N=%d CPU of b's agent from its start to DONE: %s",
          n, cpuText(cpu0, cpu1));
    line(
        "SYNC-BENCH bulk N=%d a served: %s",
        n,
        node("a")
            .output()
            .lines()
            .filter(l -> l.contains("\"event\":\"sync-bulk-send\""))
            .reduce((x, y) -> y)
            .map(l -> l.replaceAll(".*\"states\":(\\d+).*", "$1 states"))
            .orElse("nothing logged"));
    metrics("bulk N=" + n);
  }

  // ---- agents
  // ---------------------------------------------------------------------------------------------

  /**
   * Both agents stopped, both tables flushed, both started with this delay; returns once both bulk
   * updates are done.
   */
  private void reset(int delay) throws InterruptedException {
    this.delay = delay;
    for (String h : List.of("a", "b")) if (node(h) != null) node(h).stop(Duration.ofSeconds(10));
    for (String h : List.of("a", "b")) host(h).exec("conntrack", "-F");
    Map<String, Integer> before = new HashMap<>();
    for (String h : List.of("a", "b"))
      before.put(h, node(h) == null ? 0 : count(DONE, node(h).output()));
    startNode("a");
    startNode("b");
    long deadline = System.nanoTime() + SETTLE.toNanos();
    for (String h : List.of("a", "b")) {
      while (count(DONE, node(h).output()) <= before.get(h)) {
        if (System.nanoTime() > deadline || !node(h).isAlive())
          throw new AssertionError("no bulk DONE on " + h + "\n" + tails());
        Thread.sleep(50);
      }
    }
  }

  private LabProcess node(String h) {
    return nodes.get(h);
  }

  /**
   * Starts (again) a's agent, or b's agent or sync-only node, with the current delay; the log file
   * is appended to.
   */
  private void startNode(String h) {
    logStart.put(h, node(h) == null ? 0 : node(h).output().length());
    if (h.equals("b") && !receiver.equals("agent")) {
      String snaplen = receiver.substring(receiver.indexOf(':') + 1);
      nodes.put(
          h,
          host(h)
              .startJava(
                  h + "-agent",
                  SyncNodeMain.class,
                  "sync0",
                  lab.lab.dir().resolve("sync.key").toString(),
                  str(delay),
                  snaplen,
                  str(METRICS_PORT)));
    } else {
      nodes.put(h, lab.startAgent(h, config(h, h.equals("a") ? 0 : 100, delay)));
    }
  }

  private String tails() {
    StringBuilder sb = new StringBuilder();
    nodes.forEach(
        (h, p) -> {
          List<String> lines = p.output().lines().toList();
          sb.append("--- ").append(h).append(p.isAlive() ? "" : " (exited)").append('\n');
          lines
              .subList(Math.max(0, lines.size() - 15), lines.size())
              .forEach(l -> sb.append(l).append('\n'));
        });
    return sb.toString();
  }

  static String config(String node, int advskew, int delay) {
    return AgentLab.config(node, 1, advskew, true, "secret", VIP + "/24")
        + """
        metricsPort: %d
        sync:
          interface: sync0
          mode: authenticated
          keyFile: sync.key
          maxDelayMillis: %d
        """
            .formatted(METRICS_PORT, delay);
  }

  /** The carp_sync_* samples of both agents, and their sync warnings. */
  private void metrics(String phase) {
    for (String h : List.of("a", "b")) {
      List<String> samples =
          Metrics.scrape(host(h), METRICS_PORT)
              .lines()
              .filter(
                  l ->
                      l.startsWith("carp_sync_")
                          && !l.startsWith("carp_sync_bulk_state{")
                          && !l.contains("_created"))
              .map(
                  l ->
                      l.replace("carp_sync_", "")
                          .replaceAll(" (\\d+)\\.0$", "=$1")
                          .replace(" ", "="))
              .toList();
      line("SYNC-BENCH %s metrics %s: %s", phase, h, String.join(" ", samples));
      List<String> warnings =
          node(h)
              .output()
              .substring(logStart.get(h))
              .lines()
              .filter(l -> l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
              .toList();
      for (String w : warnings.subList(Math.max(0, warnings.size() - 5), warnings.size()))
        line("SYNC-BENCH %s warning %s: %s", phase, h, w);
    }
  }

  /**
   * Where packets could be lost on the way: a's sync0 TX, b's sync0 RX (the veth pair and the
   * bridge drop nothing unless these say so) and the receive ring of the agent's capture socket on
   * b's sync0 (frames it holds).
   */
  private void linkStats(String phase, long[] tx0, long[] rx0) {
    long[] tx = nicCounters("a", "TX");
    long[] rx = nicCounters("b", "RX");
    for (int i = 0; i < 2; i++) {
      tx[i] -= tx0[i];
      rx[i] -= rx0[i];
    }
    Matcher ring =
        Pattern.compile(
                "users:\\(\\(\"java\",pid="
                    + javaOf(node("b").process().toHandle()).pid()
                    + ",[^\\n]*\\n[^\\n]*\\n[^\\n]*ring_rx\\(([^)]*)\\)")
            .matcher(host("b").exec("ss", "-0", "-a", "-e", "-p", "-m").stdout());
    String rings = "";
    while (ring.find()) rings += (rings.isEmpty() ? "" : " / ") + ring.group(1);
    line(
        "SYNC-BENCH %s links during the burst: a sync0 TX %d packets (%d dropped), b sync0 RX %d packets (%d dropped); b's agent's capture rings (sync0, eth0): %s",
        phase, tx[0], tx[1], rx[0], rx[1], rings);
  }

  private long watcherOverruns() {
    String l = last(watcher.output(), "OVERRUN ");
    return l.isEmpty() ? 0 : Long.parseLong(l.substring("OVERRUN ".length()).strip());
  }

  /** {packets, dropped} of sync0 in one direction. */
  private long[] nicCounters(String h, String direction) {
    Matcher m =
        Pattern.compile(
                direction
                    + ":\\s+bytes packets errors dropped[^\\n]*\\n\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)")
            .matcher(host(h).exec("ip", "-s", "link", "show", "sync0").stdout());
    return m.find()
        ? new long[] {Long.parseLong(m.group(2)), Long.parseLong(m.group(4))}
        : new long[] {-1, -1};
  }

  // ---- measuring
  // ------------------------------------------------------------------------------------------

  /** {count, firstNanos, lastNanos} of a group as the watcher last printed it. */
  private long[] watched(int group) {
    long[] out = {0, 0, 0};
    for (String[] m : matches(COUNT, watcher.output())) {
      if (Integer.parseInt(m[0]) == group)
        out = new long[] {Long.parseLong(m[1]), Long.parseLong(m[2]), Long.parseLong(m[3])};
    }
    return out;
  }

  /**
   * Entries per group (and "total") in a host's table, counted by a {@link SyncBench} dump there.
   */
  private Map<String, Long> table(String h) throws InterruptedException {
    LabProcess p = host(h).startJava("count", SyncBench.class, "count");
    if (p.waitFor(Duration.ofMinutes(1)) != 0)
      throw new AssertionError("count failed:\n" + p.output());
    Map<String, Long> out = new TreeMap<>();
    Matcher m = TABLE.matcher(p.output());
    while (m.find()) out.put(m.group(1), Long.parseLong(m.group(2)));
    // the log file is appended to by later counts: keep only this one's lines
    try {
      Files.writeString(p.log(), "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** {user ticks, system ticks, nanoTime} of a host's agent JVM. */
  private long[] cpu(String h) {
    long[] c = cpuOrNull(h);
    if (c == null) throw new AssertionError("cannot read the CPU time of the agent on " + h);
    return c;
  }

  private long[] cpuOrNull(String h) {
    ProcessHandle java = javaOf(node(h).process().toHandle());
    try {
      String stat = Files.readString(Path.of("/proc", str(java.pid()), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12]), System.nanoTime()};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * {@code ip netns exec} execs the command, so the process is the JVM; should it ever fork, its
   * child is.
   */
  private static ProcessHandle javaOf(ProcessHandle p) {
    if (p.info().command().map(c -> c.endsWith("/java")).orElse(true)) return p;
    return p.children().findFirst().orElse(p);
  }

  private String cpuText(long[] from, long[] to) {
    double user = (to[0] - from[0]) * 1000.0 / clockTicks;
    double sys = (to[1] - from[1]) * 1000.0 / clockTicks;
    double wall = (to[2] - from[2]) / 1e6;
    return String.format(
        "%.0f ms CPU (user %.0f, sys %.0f; %.0f%% of one core)",
        user + sys, user, sys, 100 * (user + sys) / wall);
  }

  // ---- plumbing
  // -------------------------------------------------------------------------------------------

  private NetnsLab.Host host(String h) {
    return lab.lab.host(h);
  }

  private void line(String format, Object... args) {
    String s = String.format(format, args);
    System.out.println(s);
    report.add(s);
  }

  private static void awaitOutput(LabProcess p, String text, Duration within)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!p.output().contains(text)) {
      if (System.nanoTime() > deadline || !p.isAlive())
        throw new AssertionError(p.label() + " did not print " + text + ":\n" + p.output());
      Thread.sleep(50);
    }
  }

  private static List<String[]> matches(Pattern p, String text) {
    List<String[]> out = new ArrayList<>();
    Matcher m = p.matcher(text);
    while (m.find()) {
      String[] g = new String[m.groupCount()];
      for (int i = 0; i < g.length; i++) g[i] = m.group(i + 1);
      out.add(g);
    }
    return out;
  }

  private static int count(Pattern p, String text) {
    return matches(p, text).size();
  }

  private static String last(String text, String prefix) {
    return text.lines().filter(l -> l.startsWith(prefix)).reduce((x, y) -> y).orElse("");
  }

  private static String exec(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return out;
  }

  private static List<Integer> ints(String csv) {
    return csv.isBlank()
        ? List.of()
        : Arrays.stream(csv.split(",")).map(String::strip).map(Integer::parseInt).toList();
  }

  private static String str(long v) {
    return Long.toString(v);
  }

  static String summary(List<Double> ms) {
    List<Double> s = ms.stream().sorted().toList();
    if (s.isEmpty()) return "no samples";
    return String.format(
        "n=%d p50=%.1f p95=%.1f max=%.1f min=%.1f",
        s.size(), pct(s, 50), pct(s, 95), s.getLast(), s.getFirst());
  }

  private static double pct(List<Double> sorted, int p) {
    int idx = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, idx)));
  }
}
