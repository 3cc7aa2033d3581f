package dev.carpoperator.bench.torture;

import dev.carpoperator.testing.Periodic;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.traffic.StreamWatch;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The chaos: with a seeded RNG, at random pauses, disturbs a node or brings a disturbed one back,
 * and after each step waits until the cluster has converged (the best healthy node holds both VIPs
 * alone) and every session flows.
 *
 * <p>Actions (each undone by a later step, when the RNG picks that node for recovery):
 *
 * <ul>
 *   <li>{@code kill}: SIGKILL the agent (the box stays up: its addresses stay on its NICs);
 *       recovery restarts it.
 *   <li>{@code stop}: SIGTERM, a planned stop (the agent bows out); recovery restarts it.
 *   <li>{@code cut}: every link of the node down at both ends (lan, wan, sync), the agent keeps
 *       running; recovery brings the links back.
 *   <li>{@code crash}: SIGKILL and every link cut (power loss); recovery is a reboot: the VIPs and
 *       the conntrack table are gone, the agent starts with the links still down, then the links
 *       come back.
 *   <li>{@code sync_cut}: only the sync link down at both ends, the CARP links stay up; the agent
 *       demotes the node by 1 while its sync link is down (and until the peers' table is in once it
 *       is back), so a master hands over; recovery brings the link back.
 *   <li>{@code link_cut}: one CARP link down at both ends, the lan or the wan side: the node's vhid
 *       there goes to INIT and demotes the node, so its other vhid must follow; recovery brings the
 *       link back.
 *   <li>{@code sync_impair}: loss and delay on the node's sync link ({@link
 *       TortureLab#impairSync}); recovery removes them.
 *   <li>{@code freeze}: SIGSTOP on the agent (a frozen, not dead, process that keeps its
 *       addresses); recovery, at least {@link ChaosChoices#FREEZE_AT_LEAST} later (longer than
 *       master-down), is SIGCONT.
 * </ul>
 *
 * Which kinds a run uses is {@link TortureOptions#faults} (default all). Rule: at most {@link
 * TortureOptions#maxDisturbed} nodes disturbed at once (default 2 of 4), so at least two stay
 * healthy; with one disturbed, another is disturbed with the chance {@link
 * TortureOptions#secondFaultChance}. Half the time the node disturbed is the current master (a
 * failover), otherwise a random healthy node.
 */
public final class ChaosDriver {
  public enum Action {
    KILL,
    STOP,
    CUT,
    CRASH,
    SYNC_CUT,
    LINK_CUT,
    SYNC_IMPAIR,
    FREEZE;

    /** The kinds of the first torture runs, in their order: a seed picks the same steps as then. */
    public static final List<Action> CLASSIC = List.of(KILL, STOP, CUT, CRASH);

    /** Every kind, in declaration order: the default. */
    public static final List<Action> ALL = List.of(values());

    /** The name in flags and reports: {@code sync_cut}. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Whether the node drops out of the election: its CARP links or agent are gone, or it is
     * demoted (a cut sync link demotes it), so the best other node must take the VIPs. Loss on the
     * sync link leaves it in.
     */
    public boolean leavesElection() {
      return this != SYNC_IMPAIR;
    }

    /**
     * {@code kill,stop,...} (case and blanks ignored) or {@code all}; each kind once, in the given
     * order.
     */
    public static List<Action> parseList(String csv) {
      String v = csv.strip().toLowerCase(java.util.Locale.ROOT);
      if (v.equals("all")) return ALL;
      java.util.LinkedHashSet<Action> out = new java.util.LinkedHashSet<>();
      for (String part : v.split(",")) {
        String name = part.strip();
        if (name.isEmpty()) continue;
        Action a =
            java.util.Arrays.stream(values())
                .filter(x -> x.label().equals(name.replace('-', '_')))
                .findFirst()
                .orElseThrow(
                    () ->
                        new IllegalArgumentException(
                            "unknown fault kind "
                                + name
                                + " (kinds: "
                                + ALL.stream().map(Action::label).toList()
                                + " or all)"));
        out.add(a);
      }
      if (out.isEmpty()) throw new IllegalArgumentException("no fault kind in '" + csv + "'");
      return List.copyOf(out);
    }
  }

  private static final Duration POLL = Duration.ofMillis(500);

  /**
   * Waves of sessions running at once (each a client JVM): the oldest is stopped and checked when
   * another starts.
   */
  private static final int MAX_WAVES = 3;

  /**
   * Two masters for up to this long count as a handover overlap, not a split brain: a preempting
   * node takes over before the old master hears its advert, and a master's bow-out makes every
   * backup master until they hear each other (both OpenBSD behaviour); with the address changes on
   * a loaded machine and the sampling, about a second.
   */
  static final long OVERLAP_MILLIS = 3000;

  /**
   * Bytes each session must verify after a step for it to count as flowing again (a second of
   * traffic is 20 KB).
   */
  private static final long FLOWING_BYTES = 8 * 1024;

  private final TortureLab lab;
  private final TortureOptions options;
  private final Consumer<String> out;
  private final ChaosChoices choices;
  private final Map<String, Action> disturbed = new LinkedHashMap<>();
  private final Map<String, Integer> actionCounts = new TreeMap<>();

  /** Node → the NIC its {@link Action#LINK_CUT} took down. */
  private final Map<String, String> cutNic = new LinkedHashMap<>();

  /** Node → when its agent was frozen (milliseconds). */
  private final Map<String, Long> frozenAt = new LinkedHashMap<>();

  private final List<Double> convergeMillis = new ArrayList<>();

  /**
   * Kind of step ({@code kill}, {@code kill: back}) → the longest stall of a session during each
   * step of that kind, in seconds.
   */
  private final Map<String, List<Double>> stallsByKind = new TreeMap<>();

  /** How often the agents' memory and file descriptors are sampled. */
  private static final Duration RESOURCE_EVERY = Duration.ofSeconds(15);

  private final List<String> events = new ArrayList<>();
  private final long t0 = System.currentTimeMillis();
  private Monitor monitor;
  private Traffic traffic;
  private int notConverged;

  /**
   * Failovers counted during steps after which a session was broken or not flowing. Survived = all
   * failovers less these: a failover the monitor counts between two steps (after one step settled,
   * before the next began) belongs to no step, and summing the intact steps' own failovers missed
   * it (CI once saw 21 of 22 with every session intact).
   */
  private int failoversInBrokenSteps;

  public ChaosDriver(TortureLab lab, TortureOptions options, Consumer<String> out) {
    this.lab = lab;
    this.options = options;
    this.out = out;
    this.choices = new ChaosChoices(options);
    for (Action a : options.faults()) actionCounts.put(a.label(), 0);
  }

  /**
   * Builds up the cluster and the traffic, runs the chaos for the duration, brings every node back,
   * reports.
   */
  public TortureReport run() throws InterruptedException {
    say(
        "seed "
            + options.seed()
            + " (rerun with --seed "
            + options.seed()
            + "), "
            + options.duration().toSeconds()
            + " s of chaos, "
            + options.connections()
            + " sessions, at most "
            + options.maxDisturbed()
            + " nodes disturbed at once (a second with chance "
            + options.secondFaultChance()
            + "), faults "
            + options.faults().stream().map(Action::label).toList()
            + ", source NAT "
            + options.sourceNat()
            + "; lab "
            + lab.dir());
    for (String n : TortureLab.NODES) lab.startAgent(n);
    if (awaitConverged("start-up", Duration.ofSeconds(120)) < 0)
      throw new IllegalStateException("the cluster did not form\n" + lab.diagnostics(30));
    say("cluster formed: fw1 holds both VIPs");

    LabProcess server = lab.startServer();
    awaitUntil(
        Duration.ofSeconds(30),
        () -> server.output().contains("\"type\":\"listening\"") || !server.isAlive());
    if (!server.isAlive())
      throw new IllegalStateException("the streams server exited:\n" + server.output());
    traffic = new Traffic(lab, options.stallLimit(), MAX_WAVES);
    traffic.start("streams", options.connections());
    monitor = new Monitor(lab, traffic);
    monitor.start();
    ResourceSampler resources = new ResourceSampler(lab, RESOURCE_EVERY);
    resources.start();
    if (!awaitFlowing(Map.of(), Duration.ofSeconds(60)))
      throw new IllegalStateException("the sessions did not start flowing\n" + lab.diagnostics(10));
    say(options.connections() + " sessions flowing through fw1");

    long chaosStart = System.currentTimeMillis();
    long deadline = chaosStart + options.duration().toMillis();
    int step = 0;
    try {
      while (System.currentTimeMillis() < deadline) {
        Thread.sleep(pause());
        step++;
        step(step);
      }
      say("chaos over: bringing every node back");
      while (!disturbed.isEmpty()) {
        step++;
        recover(step, disturbed.keySet().iterator().next());
      }
    } finally {
      monitor.close();
      resources.close();
    }
    long chaosMillis = System.currentTimeMillis() - chaosStart;

    traffic.stopAll();
    Map<String, String> interrupted = traffic.interrupted();
    Map<String, Integer> perVip = monitor.failoversByVip();
    monitor.splitEpisodes().forEach(e -> events.add("two masters: " + e));
    TortureReport report =
        new TortureReport(
            options.seed(),
            options.faults().stream().map(Action::label).toList(),
            chaosMillis,
            step,
            actionCounts,
            perVip,
            perVip.getOrDefault(TortureLab.LAN_VIP, 0),
            perVip.getOrDefault(TortureLab.LAN_VIP, 0) - failoversInBrokenSteps,
            traffic.sessions(),
            interrupted,
            traffic.longestStallMillis(),
            monitor.splitBrainSamples(),
            monitor.overlapEpisodes(),
            monitor.splitBrainEpisodes(),
            monitor.splitBrainLongestMillis(),
            monitor.vipsApartSamples(),
            notConverged,
            convergeMillis,
            stallsByKind,
            resources.lives().stream().map(ResourceSampler.Life::toString).toList(),
            resources.samples(),
            List.copyOf(events));
    say(
        "summary\n"
            + report.summary()
            + (events.isEmpty() ? "" : "\nevents:\n" + String.join("\n", events)));
    return report;
  }

  // ---- one step
  // -------------------------------------------------------------------------------------------

  private void step(int step) throws InterruptedException {
    if (choices.recover(disturbed)) {
      recover(step, choices.recovered(new ArrayList<>(disturbed.keySet())));
      return;
    }
    int failoversBefore = monitor.failovers();
    int interruptedBefore = traffic.interrupted().size();
    List<String> healthy =
        TortureLab.NODES.stream().filter(n -> !disturbed.containsKey(n)).toList();
    String master = expectedMaster();
    String node = choices.node(master, healthy);
    Action action = choices.action();
    disturbed.put(node, action);
    actionCounts.merge(action.label(), 1, Integer::sum);
    String what = action.label() + " " + node + (node.equals(master) ? " (master)" : "");
    traffic.resetStepStall();
    switch (action) {
      case KILL -> lab.killAgent(node);
      case STOP -> lab.stopAgent(node);
      case CUT -> lab.cutLinks(node);
      case CRASH -> {
        lab.killAgent(node);
        lab.cutLinks(node);
      }
      case SYNC_CUT -> lab.cutLink(node, TortureLab.SYNC_IF);
      case LINK_CUT -> {
        String nic = choices.linkSide();
        cutNic.put(node, nic);
        lab.cutLink(node, nic);
        what += " " + nic;
      }
      case SYNC_IMPAIR -> what += ": " + lab.impairSync(node);
      case FREEZE -> {
        frozenAt.put(node, System.currentTimeMillis());
        lab.freezeAgent(node);
      }
    }
    settle(step, action.label(), what, failoversBefore, interruptedBefore);
    if (options.waveConnections() > 0) {
      // sessions opened while the node is away: it has never seen them when it comes back
      traffic.startWave(options.waveConnections());
      if (!awaitFlowing(Map.of(), options.stallLimit())) {
        say("a new wave of sessions did not start flowing\n" + lab.diagnostics(10));
      }
    }
  }

  private void recover(int step, String node) throws InterruptedException {
    int failoversBefore = monitor.failovers();
    int interruptedBefore = traffic.interrupted().size();
    Action was = disturbed.remove(node);
    traffic.resetStepStall();
    String what =
        switch (was) {
          case KILL, STOP -> {
            lab.startAgent(node);
            yield "restart " + node;
          }
          case CUT -> {
            lab.restoreLinks(node);
            yield "restore links of " + node;
          }
          case CRASH -> {
            // a reboot: no addresses, an empty connection table; the agent starts before the links
            // come up
            lab.wipe(node); // no VIP on its NICs, an empty connection table
            lab.startAgent(node);
            lab.restoreLinks(node);
            yield "reboot " + node + " (empty conntrack)";
          }
          case SYNC_CUT -> {
            lab.restoreLink(node, TortureLab.SYNC_IF);
            yield "restore sync link of " + node;
          }
          case LINK_CUT -> {
            String nic = cutNic.remove(node);
            lab.restoreLink(node, nic);
            yield "restore " + nic + " of " + node;
          }
          case SYNC_IMPAIR -> {
            lab.unimpairSync(node);
            yield "unimpair sync link of " + node;
          }
          case FREEZE -> {
            long left =
                frozenAt.remove(node)
                    + ChaosChoices.FREEZE_AT_LEAST.toMillis()
                    - System.currentTimeMillis();
            if (left > 0) Thread.sleep(left);
            lab.thawAgent(node);
            yield "thaw " + node + " (SIGCONT)";
          }
        };
    settle(step, was.label() + ": back", what, failoversBefore, interruptedBefore);
  }

  /** Waits for convergence and for every session to flow again; prints the step's line. */
  private void settle(
      int step, String kind, String what, int failoversBefore, int interruptedBefore)
      throws InterruptedException {
    long start = System.currentTimeMillis();
    long converged = awaitConverged(what, options.settle());
    String result;
    if (converged < 0) {
      notConverged++;
      result = "NOT converged within " + options.settle().toSeconds() + " s";
      String diag = lab.diagnostics(15);
      events.add(elapsed() + " step " + step + " (" + what + "): not converged:\n" + diag);
      say("step " + step + ": " + what + ": " + result + "\n" + diag);
    } else {
      convergeMillis.add((double) (converged - start));
      result =
          expectedMaster()
              + " master after "
              + String.format("%.1f s", (converged - start) / 1000.0);
    }
    monitor.sample(); // the step's failover counted in this step, not at the monitor's next tick
    // every session must carry traffic again before the next action (TCP may be backing off after
    // the outage)
    boolean flowing = awaitFlowing(traffic.mark(), options.stallLimit().plusSeconds(10));
    int failovers = monitor.failovers() - failoversBefore;
    traffic.poll();
    long stall = traffic.stepStallMillis();
    stallsByKind.computeIfAbsent(kind, k -> new ArrayList<>()).add(stall / 1000.0);
    Map<String, String> interrupted = traffic.interrupted();
    boolean intact = flowing && interrupted.size() == interruptedBefore;
    if (!intact) failoversInBrokenSteps += failovers;
    Map<String, String> newly = newSince(interrupted, interruptedBefore);
    String sessions =
        intact
            ? "sessions ok"
            : newly.isEmpty()
                ? "not all sessions flowing (interrupted earlier: " + interrupted.keySet() + ")"
                : "SESSIONS INTERRUPTED " + newly + (flowing ? "" : " (not all flowing)");
    if (!intact) {
      String diag = lab.diagnostics(15);
      events.add(elapsed() + " step " + step + " (" + what + "): " + sessions + "\n" + diag);
      say(diag);
    }
    say(
        String.format(
            "step %d: %s → %s; %d failover(s), %s, longest stall %.1f s; disturbed %s; failovers so far %d",
            step,
            what,
            result,
            failovers,
            sessions,
            stall / 1000.0,
            disturbed,
            monitor.failovers()));
  }

  private static Map<String, String> newSince(Map<String, String> all, int before) {
    Map<String, String> out = new LinkedHashMap<>();
    int i = 0;
    for (var e : all.entrySet()) if (i++ >= before) out.put(e.getKey(), e.getValue());
    return out;
  }

  // ---- convergence
  // ----------------------------------------------------------------------------------------

  /**
   * The healthy node (not disturbed) with the lowest advskew: with preempt it ends up holding both
   * VIPs.
   */
  private String expectedMaster() {
    return TortureLab.NODES.stream()
        .filter(n -> !disturbed.containsKey(n) || !disturbed.get(n).leavesElection())
        .findFirst()
        .orElseThrow();
  }

  /**
   * Waits until the expected master holds both VIPs and no other node with a running agent and
   * connected links holds either (a node whose agent was killed keeps its addresses; it does not
   * count). Returns when, or -1.
   */
  private long awaitConverged(String what, Duration within) throws InterruptedException {
    String expected = expectedMaster();
    long until = System.currentTimeMillis() + within.toMillis();
    while (System.currentTimeMillis() < until) {
      Map<String, Set<String>> vips = lab.vipsByNode();
      boolean ok = vips.get(expected).size() == TortureLab.VIPS.size();
      for (String n : TortureLab.NODES) {
        if (n.equals(expected) || !lab.agentRunning(n)) continue;
        for (String vip : vips.get(n)) if (lab.nicUp(n, TortureLab.nicOf(vip))) ok = false;
      }
      if (ok) return System.currentTimeMillis();
      Thread.sleep(200);
    }
    return -1;
  }

  /**
   * Waits until every running session verified {@value #FLOWING_BYTES} more bytes than at {@code
   * mark} (clients not in it: since their start), or a session failed, or the time is up. True when
   * all flow.
   */
  private boolean awaitFlowing(Map<StreamWatch, TcpStreamsMain.Progress> mark, Duration within)
      throws InterruptedException {
    long until = System.currentTimeMillis() + within.toMillis();
    while (System.currentTimeMillis() < until) {
      if (traffic.flowingSince(mark, FLOWING_BYTES)) return true;
      if (traffic.anyFailed()) return false;
      Thread.sleep(250);
    }
    return false;
  }

  private static void awaitUntil(Duration within, java.util.function.BooleanSupplier done)
      throws InterruptedException {
    long until = System.currentTimeMillis() + within.toMillis();
    while (!done.getAsBoolean() && System.currentTimeMillis() < until) Thread.sleep(100);
  }

  private long pause() {
    return choices.pauseMillis();
  }

  private String elapsed() {
    long s = (System.currentTimeMillis() - t0) / 1000;
    return String.format("%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  }

  private void say(String message) {
    out.accept("[torture " + elapsed() + "] " + message);
  }

  // ---- the monitor
  // ----------------------------------------------------------------------------------------

  /**
   * Samples every {@link #POLL}: which node holds which VIP (failovers, split brain, VIPs apart)
   * and the sessions. Only nodes whose agent runs (and has started its vhosts) and whose links are
   * up count as holders: a killed agent's box keeps its addresses until the next agent removes them
   * at start, and a cut-off node is on no network.
   */
  private static final class Monitor implements AutoCloseable {
    private final TortureLab lab;
    private final Traffic traffic;
    private Periodic task;
    private final Map<String, String> lastHolder = new LinkedHashMap<>();
    private final Map<String, Integer> failovers = new TreeMap<>();
    private final Map<String, Long> splitSince = new LinkedHashMap<>();

    /**
     * VIP → what the current split-brain episode looked like when it started (holders and their
     * agents' age).
     */
    private final Map<String, String> splitWhat = new LinkedHashMap<>();

    private final List<String> splitEpisodes = new ArrayList<>();
    private int splitBrainSamples;
    private int splitBrainEpisodes;
    private int overlapEpisodes;
    private long splitBrainLongest;
    private int vipsApartSamples;

    Monitor(TortureLab lab, Traffic traffic) {
      this.lab = lab;
      this.traffic = traffic;
    }

    void start() {
      task =
          Periodic.start(
              "torture-monitor",
              POLL,
              () -> {
                sample();
                traffic.poll();
              },
              // e.g. a command timed out on a loaded machine
              e -> System.err.println("[torture] monitor: " + e));
    }

    private synchronized void sample() {
      long now = System.currentTimeMillis();
      Map<String, Set<String>> vips = lab.vipsByNode();
      Map<String, String> single = new LinkedHashMap<>();
      for (String vip : TortureLab.VIPS) {
        List<String> holders =
            TortureLab.NODES.stream()
                .filter(
                    n ->
                        lab.agentElecting(n)
                            && lab.nicUp(n, TortureLab.nicOf(vip))
                            && vips.get(n).contains(vip))
                .toList();
        if (holders.size() == 1) {
          String h = holders.getFirst();
          single.put(vip, h);
          String last = lastHolder.put(vip, h);
          if (last != null && !last.equals(h)) failovers.merge(vip, 1, Integer::sum);
        }
        if (holders.size() > 1) {
          splitBrainSamples++;
          long since = splitSince.computeIfAbsent(vip, k -> now);
          splitWhat.computeIfAbsent(
              vip,
              k ->
                  vip
                      + " on "
                      + holders.stream()
                          .map(n -> n + " (agent up " + lab.agentUptimeMillis(n) + " ms)")
                          .toList());
          splitBrainLongest = Math.max(splitBrainLongest, now - since);
        } else if (splitSince.containsKey(vip)) {
          long millis = now - splitSince.remove(vip);
          if (millis > OVERLAP_MILLIS) splitBrainEpisodes++;
          else overlapEpisodes++;
          splitEpisodes.add(String.format("%s for %.1f s", splitWhat.remove(vip), millis / 1000.0));
        }
      }
      if (single.size() == 2
          && !single.get(TortureLab.LAN_VIP).equals(single.get(TortureLab.WAN_VIP)))
        vipsApartSamples++;
    }

    synchronized int failovers() {
      return failovers.getOrDefault(TortureLab.LAN_VIP, 0);
    }

    synchronized Map<String, Integer> failoversByVip() {
      Map<String, Integer> out = new LinkedHashMap<>();
      for (String vip : TortureLab.VIPS) out.put(vip, failovers.getOrDefault(vip, 0));
      return out;
    }

    synchronized int splitBrainSamples() {
      return splitBrainSamples;
    }

    synchronized int splitBrainEpisodes() {
      return splitBrainEpisodes;
    }

    synchronized int overlapEpisodes() {
      return overlapEpisodes;
    }

    synchronized long splitBrainLongestMillis() {
      return splitBrainLongest;
    }

    /**
     * Each split-brain episode seen: the VIP, its holders and how long, e.g. for the report's
     * events.
     */
    synchronized List<String> splitEpisodes() {
      return List.copyOf(splitEpisodes);
    }

    synchronized int vipsApartSamples() {
      return vipsApartSamples;
    }

    @Override
    public void close() {
      if (task != null) task.close();
    }
  }
}
