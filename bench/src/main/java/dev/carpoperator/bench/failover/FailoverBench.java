package dev.carpoperator.bench.failover;

import dev.carpoperator.bench.BenchContext;
import dev.carpoperator.bench.BenchPart;
import dev.carpoperator.bench.failover.Contender.Node;
import dev.carpoperator.bench.failover.Contender.Role;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

/**
 * {@code ./carp bench failover}: on one lab (router nodes a and b and a client c on one bridge),
 * fails the master over and over for each implementation (this agent, ucarp, keepalived), profile
 * (BSD, fast) and case (process killed, links cut, clean shutdown), and measures the traffic gap a
 * client sees and the address takeover time. {@link FailoverReport} turns the samples into the
 * result.
 */
public final class FailoverBench implements BenchPart {
  static final String PART = "failover";
  static final String VIP = "192.0.2.100";
  static final int PROBE_PORT = 7000;
  static final int PROBE_INTERVAL_MICROS = 1000;
  private static final List<String> SMALL_JVM =
      List.of("-XX:+UseSerialGC", "-Xmx64m", "-XX:TieredStopAtLevel=1");

  /** How the master is failed. */
  enum Case {
    KILL("kill", "unplanned: master process killed"),
    CUT("cut", "unplanned: master links cut"),
    TERM("term", "planned: clean shutdown");

    final String key;
    final String label;

    Case(String key, String label) {
      this.key = key;
      this.label = label;
    }

    boolean unplanned() {
      return this != TERM;
    }
  }

  @Override
  public String name() {
    return PART;
  }

  @Override
  public String description() {
    return "failover traffic gap and address takeover: agent vs ucarp vs keepalived, BSD and fast profiles";
  }

  @Override
  public void run(BenchContext ctx) throws Exception {
    int rounds = ctx.intOption("failover.rounds", 30, 3);
    List<Profile> profiles =
        Arrays.stream(ctx.option("failover.profiles", "bsd,fast").split(","))
            .map(k -> Profile.valueOf(k.strip().toUpperCase()))
            .toList();
    List<String> impls = List.of(ctx.option("failover.impls", "agent,ucarp,keepalived").split(","));
    List<Contender> contenders = new ArrayList<>();
    for (Contender c :
        List.of(new AgentContender(), new UcarpContender(), new KeepalivedContender())) {
      if (impls.contains(c.name())) contenders.add(c);
    }
    FailoverReport report = new FailoverReport(rounds, profiles, contenders);
    say(
        String.format(
            "%d failovers per case; expect about %.0f minutes",
            rounds, estimateSeconds(rounds, profiles, contenders) / 60));
    try (Lab lab = new Lab()) {
      for (Profile p : profiles) {
        for (Contender c : contenders) {
          if (!c.supports(p)) continue;
          try {
            runSeries(lab, p, c, rounds, report);
          } catch (RuntimeException e) {
            say("FAILED " + p.key + "/" + c.name() + ": " + e.getMessage());
            report.problem(p.key + "/" + c.name() + " stopped early: " + e.getMessage());
          } finally {
            lab.stopDaemons();
          }
        }
      }
      if (profiles.contains(Profile.FAST) && impls.contains("ucarp"))
        report.ucarpFastCheck(ucarpFastCheck(lab));
    }
    ctx.save(report.result(ctx));
  }

  /**
   * Rough: per case a settle and a restart (a JVM for the agent), plus the master-down time of the
   * unplanned cases.
   */
  static double estimateSeconds(int rounds, List<Profile> profiles, List<Contender> contenders) {
    double total = 0;
    for (Profile p : profiles) {
      for (Contender c : contenders) {
        if (!c.supports(p)) continue;
        double restart = c instanceof AgentContender ? 3 : 1;
        double planned = c instanceof UcarpContender ? 3 * p.intervalSeconds : 0.05;
        total +=
            rounds
                    * (3 * (p.intervalSeconds + 1.5 + restart)
                        + 2 * 2.7 * p.intervalSeconds
                        + planned
                        + 1)
                + 10;
      }
    }
    return total;
  }

  private static void say(String msg) {
    BenchContext.say(PART, msg);
  }

  // ---- one implementation, one profile
  // ------------------------------------------------------------------------

  private void runSeries(Lab lab, Profile p, Contender c, int rounds, FailoverReport report) {
    say(p.key + "/" + c.name() + ": starting");
    lab.daemons.put(lab.a, c.start(lab.a, p, lab.net.dir()));
    awaitRole(c, lab.daemons.get(lab.a), 0, Role.MASTER, Duration.ofSeconds(30));
    lab.daemons.put(lab.b, c.start(lab.b, p, lab.net.dir()));
    awaitRole(c, lab.daemons.get(lab.b), 0, Role.BACKUP, Duration.ofSeconds(30));
    lab.awaitOnlyHolder(lab.a, Duration.ofSeconds(20));
    await(
        "traffic through a", Duration.ofSeconds(10), () -> lab.a.name().equals(lab.lastRunNode()));
    Node master = lab.a;
    for (int r = 0; r < rounds; r++) {
      for (Case k : Case.values()) {
        master = failover(lab, p, c, k, master, report);
      }
      say(String.format("%s/%s: round %d of %d done", p.key, c.name(), r + 1, rounds));
    }
  }

  /** One failover of {@code master}; returns the new master. */
  private Node failover(
      Lab lab, Profile p, Contender c, Case k, Node master, FailoverReport report) {
    Node backup = lab.other(master);
    StampedProcess old = lab.daemons.get(master);
    StampedProcess neu = lab.daemons.get(backup);
    // the backup has heard at least one advert; the failure lands at a random point of the advert
    // interval
    sleep(
        Duration.ofMillis(
            (long) (p.intervalSeconds * 1000) + ThreadLocalRandom.current().nextLong(500, 1500)));
    int clientMark = lab.client.mark();
    int daemonMark = neu.mark();
    int monitorMark = lab.monitors.get(backup).mark();
    int oldMark = old.mark();
    long t0 = System.nanoTime();
    Instant wall0 = Instant.now();
    switch (k) {
      case KILL -> {
        old.kill();
        lab.ipBatch(
            master,
            "addr del " + VIP + "/24 dev eth0"); // a crashed node stops answering for the address
        old.awaitExit(Duration.ofSeconds(5));
      }
      case CUT -> master.host().cut();
      case TERM -> old.terminate(Duration.ofSeconds(15));
    }
    String id = p.key + "/" + c.name() + "/" + k.key;
    Duration limit = Duration.ofMillis((long) (p.intervalSeconds * 4000) + 10_000);
    boolean answered =
        poll(
            limit,
            () ->
                TrafficGap.firstReply(lab.client.textFrom(clientMark), backup.name(), t0)
                    .isPresent());
    if (!answered) {
      report.problem(
          id
              + ": no reply through "
              + backup.name()
              + " within "
              + limit.toSeconds()
              + " s; the round is not counted");
    } else {
      OptionalDouble gap =
          TrafficGap.gapMillis(lab.client.textFrom(clientMark), master.name(), backup.name(), t0);
      if (gap.isPresent()) report.gap(id, gap.getAsDouble());
      else
        report.problem(
            id
                + ": no reply through "
                + master.name()
                + " before the failover; the round is not counted");
      takeover(
          lab,
          c,
          backup,
          neu,
          daemonMark,
          monitorMark,
          clientMark,
          wall0,
          p.key + "/" + c.name(),
          report);
    }
    recover(lab, p, c, k, master, oldMark);
    Node now = lab.awaitSingleHolder(Duration.ofSeconds(30));
    if (now != backup) say(id + ": " + master.name() + " took the address back after recovering");
    return now;
  }

  /**
   * Election decision → address on the new master's NIC (ip monitor) → gratuitous ARP at the client
   * (capture).
   */
  private void takeover(
      Lab lab,
      Contender c,
      Node backup,
      StampedProcess neu,
      int daemonMark,
      int monitorMark,
      int clientMark,
      Instant wall0,
      String id,
      FailoverReport report) {
    Optional<Instant> decision = Optional.empty();
    Optional<Instant> address = Optional.empty();
    OptionalLong garp = OptionalLong.empty();
    long end = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < end && (decision.isEmpty() || address.isEmpty() || garp.isEmpty())) {
      decision =
          neu.linesFrom(daemonMark).stream()
              .map(c::masterDecision)
              .flatMap(Optional::stream)
              .findFirst();
      address =
          lab.monitors.get(backup).textFrom(monitorMark).stream()
              .map(Lab::vipAdded)
              .flatMap(Optional::stream)
              .findFirst();
      garp = Lab.firstAnnouncement(lab.client.textFrom(clientMark), backup.host().mac(), wall0);
      sleep(Duration.ofMillis(10));
    }
    if (decision.isEmpty()) {
      report.problem(id + ": no election decision found in " + backup.name() + "'s output");
      return;
    }
    double decided = micros(decision.get());
    if (address.isPresent())
      report.takeover(id + "/takeover-address", (micros(address.get()) - decided) / 1000);
    if (garp.isPresent())
      report.takeover(id + "/takeover-garp", (garp.getAsLong() - decided) / 1000);
  }

  private static double micros(Instant t) {
    return t.getEpochSecond() * 1e6 + t.getNano() / 1000;
  }

  /**
   * Brings the failed node back as a backup with a freshly started daemon in every case (after
   * restoring the link in the cut case), so each round starts from the same state: ucarp, left
   * running through its own link flap, took about 9 s instead of 3 to take over in the next round.
   */
  private void recover(Lab lab, Profile p, Contender c, Case k, Node failed, int oldMark) {
    if (k == Case.CUT) {
      failed.host().restore();
      awaitRole(c, lab.daemons.get(failed), oldMark, Role.BACKUP, Duration.ofSeconds(20));
      lab.daemons.get(failed).terminate(Duration.ofSeconds(15));
    }
    StampedProcess restarted = c.start(failed, p, lab.net.dir());
    lab.daemons.put(failed, restarted);
    awaitRole(c, restarted, 0, Role.BACKUP, Duration.ofSeconds(30));
  }

  /** Waits until the last role the daemon announced since {@code mark} is {@code role}. */
  private static void awaitRole(
      Contender c, StampedProcess d, int mark, Role role, Duration limit) {
    await(
        role + " from " + d.label(),
        limit,
        () -> {
          Role last = null;
          for (String l : d.textFrom(mark)) last = c.role(l).orElse(last);
          if (!d.isAlive()) throw new IllegalStateException("the daemon exited\n" + d.tail(20));
          return last == role;
        },
        d);
  }

  // ---- ucarp at advbase 0
  // --------------------------------------------------------------------------------------

  /** Runs two ucarp at advbase 0, advskew 26 for 6 s and counts how often either became master. */
  private String ucarpFastCheck(Lab lab) {
    Path dir = lab.net.dir();
    List<StampedProcess> ps = new ArrayList<>();
    try {
      UcarpContender u = new UcarpContender();
      Path[] scripts = UcarpContender.writeScripts(dir);
      for (Node n : List.of(lab.a, lab.b)) {
        ps.add(
            StampedProcess.start(
                n.host(),
                n.name() + "-ucarp-fast",
                dir.resolve(n.name() + "-ucarp-fast.log"),
                UcarpContender.command(n, Profile.FAST, scripts[0], scripts[1])));
        sleep(Duration.ofSeconds(1));
      }
      sleep(Duration.ofSeconds(6));
      long masters =
          ps.stream()
              .flatMap(s -> s.textFrom(0).stream())
              .filter(l -> u.role(l).orElse(null) == Role.MASTER)
              .count();
      return "Stability check: two ucarp 1.5.2 with --advbase=0 --advskew=26 (the agent's fast setting) on a and b, b started 1 s "
          + "after a, watched for 6 s: "
          + masters
          + " transitions to MASTER in total (a stable pair has 1).";
    } finally {
      ps.forEach(StampedProcess::close);
      lab.stopDaemons();
    }
  }

  // ---- waiting
  // ----------------------------------------------------------------------------------------------------

  static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Polls every 2 ms; false if {@code limit} passes first. */
  static boolean poll(Duration limit, BooleanSupplier done) {
    long end = System.nanoTime() + limit.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > end) return false;
      sleep(Duration.ofMillis(2));
    }
    return true;
  }

  static void await(String what, Duration limit, BooleanSupplier done, StampedProcess... context) {
    if (!poll(limit, done)) {
      StringBuilder sb =
          new StringBuilder("timed out after " + limit.toSeconds() + " s waiting for " + what);
      for (StampedProcess p : context) sb.append('\n').append(p.tail(15));
      throw new IllegalStateException(sb.toString());
    }
  }

  // ---- the lab
  // ------------------------------------------------------------------------------------------------------

  /** Router nodes a and b, client c, the probe processes and an address monitor per router node. */
  static final class Lab implements AutoCloseable {
    final NetnsLab net = NetnsLab.create();
    final Node a;
    final Node b;
    final StampedProcess client;
    final Map<Node, StampedProcess> monitors = new LinkedHashMap<>();
    final Map<Node, StampedProcess> daemons = new LinkedHashMap<>();
    private final Map<Node, Process> batches = new LinkedHashMap<>();
    private final List<StampedProcess> helpers = new ArrayList<>();

    Lab() {
      try {
        a = new Node(net.addHost("a", "192.0.2.11/24"), "192.0.2.11");
        b = new Node(net.addHost("b", "192.0.2.12/24"), "192.0.2.12");
        NetnsLab.Host c = net.addHost("c", "192.0.2.20/24");
        for (Node n : List.of(a, b)) {
          StampedProcess responder =
              java(
                  n.host(),
                  "responder",
                  ProbeResponder.class,
                  n.name(),
                  String.valueOf(PROBE_PORT));
          StampedProcess monitor =
              helper(n.host(), "ipmon", List.of("ip", "-ts", "monitor", "address", "dev", "eth0"));
          monitors.put(n, monitor);
          batches.put(
              n,
              new ProcessBuilder(
                      "ip", "netns", "exec", n.host().namespace(), "ip", "-force", "-batch", "-")
                  .redirectErrorStream(true)
                  .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                  .start());
          await(
              "the responder on " + n.name(),
              Duration.ofSeconds(20),
              () -> responder.textFrom(0).stream().anyMatch(l -> l.contains("ready")),
              responder);
        }
        client =
            java(
                c,
                "probe",
                ProbeClient.class,
                VIP,
                String.valueOf(PROBE_PORT),
                String.valueOf(PROBE_INTERVAL_MICROS),
                "eth0");
        await(
            "the client's capture",
            Duration.ofSeconds(20),
            () -> client.textFrom(0).stream().anyMatch(l -> l.contains("capture ready")),
            client);
      } catch (IOException | RuntimeException e) {
        close();
        throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
      }
    }

    private StampedProcess java(NetnsLab.Host h, String label, Class<?> main, String... args) {
      return helper(h, label, NetnsLab.javaCommand(main.getName(), SMALL_JVM, args));
    }

    private StampedProcess helper(NetnsLab.Host h, String label, List<String> cmd) {
      StampedProcess p =
          StampedProcess.start(
              h, h.name() + "-" + label, net.dir().resolve(h.name() + "-" + label + ".log"), cmd);
      helpers.add(p);
      return p;
    }

    Node other(Node n) {
      return n == a ? b : a;
    }

    /**
     * One command to the node's long-lived {@code ip -batch} (microseconds, where a new ip process
     * takes milliseconds).
     */
    void ipBatch(Node n, String command) {
      try {
        OutputStream in = batches.get(n).getOutputStream();
        in.write((command + "\n").getBytes(StandardCharsets.US_ASCII));
        in.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    boolean holds(Node n) {
      return n.host()
          .exec("ip", "-o", "addr", "show", "dev", "eth0")
          .stdout()
          .contains(" " + VIP + "/");
    }

    void awaitOnlyHolder(Node n, Duration limit) {
      await(
          n.name() + " alone holding " + VIP,
          limit,
          () -> holds(n) && !holds(other(n)),
          daemons.values().toArray(StampedProcess[]::new));
    }

    /** Waits until exactly one router node holds the address, and returns it. */
    Node awaitSingleHolder(Duration limit) {
      Node[] holder = new Node[1];
      await(
          "a single holder of " + VIP,
          limit,
          () -> {
            boolean ha = holds(a);
            boolean hb = holds(b);
            holder[0] = ha == hb ? null : ha ? a : b;
            return holder[0] != null;
          },
          daemons.values().toArray(StampedProcess[]::new));
      return holder[0];
    }

    /** The node of the client's current (last started) reply run. */
    String lastRunNode() {
      List<String> lines = client.textFrom(0);
      for (int i = lines.size() - 1; i >= 0; i--) {
        String[] f = lines.get(i).split(" ");
        if (f[0].equals("run")) return f[1];
      }
      return "";
    }

    /**
     * {@code [2026-11-24T23:59:50.489884] 2: eth0 inet 192.0.2.100/24 ...} (local time): when the
     * address was added.
     */
    static Optional<Instant> vipAdded(String line) {
      if (!line.startsWith("[") || !line.contains(" inet " + VIP + "/") || line.contains("Deleted"))
        return Optional.empty();
      return Optional.of(
          LocalDateTime.parse(line.substring(1, line.indexOf(']')))
              .atZone(ZoneId.systemDefault())
              .toInstant());
    }

    /**
     * The first ARP announcement of the address by {@code mac} captured after {@code since}: sender
     * IP the address and either target IP the address too (gratuitous request or reply) or a
     * broadcast destination; epoch microseconds.
     */
    static OptionalLong firstAnnouncement(List<String> clientLines, String mac, Instant since) {
      double sinceMicros = micros(since);
      for (String l : clientLines) {
        String[] f = l.split(" ");
        if (f.length != 5 || !f[0].equals("arp") || !f[2].equalsIgnoreCase(mac)) continue;
        long t = Long.parseLong(f[1]);
        if (t >= sinceMicros && (f[3].equals(VIP) || f[4].equals("ff:ff:ff:ff:ff:ff")))
          return OptionalLong.of(t);
      }
      return OptionalLong.empty();
    }

    /** Stops the daemons of the current series and removes the address wherever they left it. */
    void stopDaemons() {
      daemons.values().forEach(StampedProcess::close);
      daemons.clear();
      for (Node n : List.of(a, b)) {
        n.host().restore();
        ipBatch(n, "addr del " + VIP + "/24 dev eth0");
      }
    }

    @Override
    public void close() {
      daemons.values().forEach(StampedProcess::close);
      helpers.forEach(StampedProcess::close);
      batches.values().forEach(Process::destroy);
      net.close();
    }
  }
}
