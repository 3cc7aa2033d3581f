package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.linux.conntrack.TableWriterMain;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TCP sessions across a firewall failover (issue #5): {@link FirewallPairLab}, two stateful routing
 * firewalls with CARP gateways on both sides, and {@link TcpStreamsMain} carrying {@value
 * #CONNECTIONS} long-lived connections through the master, every byte echoed and checked. The
 * master crashes (agent SIGKILLed, links cut).
 *
 * <p>Without state sync the new master drops every packet of the old connections as INVALID (loose
 * pickup is off): they all stall, which proves the test can fail. With sync each connection keeps
 * flowing through the new master, with no reset and no byte lost. Timeouts are generous upper
 * bounds for a loaded 2-core CI machine.
 *
 * <p>Checked by hand before the sync existed: copying fw1's entries into fw2 with {@code conntrack
 * -I} just before the crash makes every connection survive, with and without source NAT, about 2 s
 * after fw2 takes over. With NAT the entry must be created from the original tuple plus the NAT
 * range ({@code --src-nat 203.0.113.1:port}); given a reply tuple that is already translated, the
 * kernel finds nothing to translate, never sets IPS_SRC_NAT, the packets leave fw2 untranslated and
 * the server answers them with resets (fw2 then counts them as {@code drop_invalid}).
 */
class StateSyncFailoverTest {
  private static final Logger log = LoggerFactory.getLogger(StateSyncFailoverTest.class);
  static final int CONNECTIONS = 40;
  static final Duration ELECTION = Duration.ofSeconds(30);
  static final Duration FAILOVER = Duration.ofSeconds(20);

  /** How long the control case watches the connections after the failover. */
  static final Duration OBSERVE = Duration.ofSeconds(10);

  /**
   * TCP backs off while the path is dead (retransmits ~0.2, 0.6, 1.4, 3, 6.2, 12.6 s after the
   * loss): room for that.
   */
  static final Duration RECOVERY = Duration.ofSeconds(40);

  /**
   * "Flowing": more than this many bytes verified on every connection (about 1 s of data at 1 KB /
   * 50 ms).
   */
  static final long FLOWING_BYTES = 16 * 1024;

  /**
   * The agent's log line when a requested bulk update has been received in full: the bulk state
   * machine reaches DONE.
   */
  static final List<String> BULK_DONE = List.of("\"event\":\"sync-bulk\"", "\"to\":\"DONE\"");

  /**
   * fw1 preferred (advskew 0), fw2 backup (advskew 100), both preempting. Returns once both agents
   * are ready (running, bulk update done or given up) and fw1 holds both VIPs: before that fw2 may
   * not run yet, or one node may be demoted while its bulk update is pending, and the roles would
   * be a start-up race.
   */
  private static void startPair(FirewallPairLab l, boolean sync) {
    String c1 = FirewallPairLab.agentConfig("fw1", 0, true);
    String c2 = FirewallPairLab.agentConfig("fw2", 100, true);
    l.startAgent("fw1", sync ? l.withSync(c1) : c1);
    l.startAgent("fw2", sync ? l.withSync(c2) : c2);
    for (String fw : FirewallPairLab.FIREWALLS) l.agents.awaitReady(fw, ELECTION);
    l.awaitMaster("fw1", ELECTION);
  }

  /** Server and client started; returns once every connection carries data through fw1. */
  private static LabProcess startTraffic(FirewallPairLab l) {
    l.startServer();
    LabProcess client = l.startClient("streams", CONNECTIONS, 0);
    TcpStreamsMain.Progress p =
        l.awaitAllProgress(
            client,
            null,
            FLOWING_BYTES,
            CONNECTIONS,
            Duration.ofSeconds(40),
            "before the failover");
    assertThat(l.missingFromConntrack("fw1", p))
        .as(
            "client ports not in fw1's conntrack: the traffic must go through fw1\n"
                + l.diagnostics())
        .isEmpty();
    assertThat(l.counter("fw2", "fwd_established") + l.counter("fw2", "fwd_new"))
        .as("packets fw2 forwarded before the failover")
        .isZero();
    return client;
  }

  @ParameterizedTest(name = "source NAT {0}")
  @ValueSource(booleans = {false, true})
  void failoverWithoutSyncBreaksConnections(boolean sourceNat) {
    try (FirewallPairLab l = FirewallPairLab.create(sourceNat)) {
      startPair(l, false);
      LabProcess client = startTraffic(l);
      TcpStreamsMain.Progress beforeCrash = latestOrFail(l, client);
      Map<String, Long> fw2Before = l.counters("fw2");

      l.crash("fw1");
      l.awaitMaster("fw2", FAILOVER, "fw1");
      long masterAt = System.currentTimeMillis();
      TcpStreamsMain.Progress base = l.awaitProgressAfter(client, masterAt);

      // No connection makes progress through fw2: it never saw them, so it drops their packets as
      // INVALID.
      try {
        await()
            .during(OBSERVE)
            .atMost(OBSERVE.plusSeconds(5))
            .pollInterval(Duration.ofMillis(500))
            .until(() -> FirewallPairLab.latest(client).progressedSince(base, 0).isEmpty());
      } catch (ConditionTimeoutException e) {
        TcpStreamsMain.Progress now = FirewallPairLab.latest(client);
        throw new AssertionError(
            "without sync, connections "
                + now.progressedSince(base, 0)
                + " still made progress after the failover"
                + "\nat the failover: "
                + base.describe()
                + "\nnow: "
                + now.describe()
                + "\n"
                + l.diagnostics(),
            e);
      }
      Map<String, Long> fw2After = l.counters("fw2");
      long invalidDrops =
          fw2After.getOrDefault("drop_invalid", 0L) - fw2Before.getOrDefault("drop_invalid", 0L);
      TcpStreamsMain.Progress end = l.stopClient(client);
      assertThat(invalidDrops)
          .as(
              "packets of the old connections fw2 dropped as INVALID (counters "
                  + fw2After
                  + ")\n"
                  + l.diagnostics())
          .isPositive();
      assertThat(end.drained()).as("connections that got all their data back").doesNotContain(true);

      // fw2 itself forwards: a new connection through it works; only the connections it does not
      // know are dropped.
      LabProcess fresh = l.startClient("streams-new", 2, 2);
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> !fresh.isAlive());
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "the new-connection client did not finish\n" + FirewallPairLab.tail(fresh, 20), e);
      }
      TcpStreamsMain.Progress freshEnd = FirewallPairLab.latest(fresh);
      assertThat(freshEnd)
          .as("summary of new connections through fw2\n" + FirewallPairLab.tail(fresh, 20))
          .isNotNull();
      assertThat(freshEnd.failed())
          .as("new connections through fw2: " + freshEnd.describe() + "\n" + l.diagnostics())
          .isEmpty();
      assertThat(freshEnd.verified())
          .as("bytes verified by new connections through fw2")
          .doesNotContain(0L);

      log.info(
          "without sync (source NAT {}): {} connections, {} bytes verified before the crash, {} after it; stalled {}, reset or"
              + " failed {}; fw2 counters {} s after the failover: {} (drop_invalid +{}); then {} new connections through fw2 verified"
              + " {} bytes, fw2 counters {}",
          sourceNat,
          CONNECTIONS,
          beforeCrash.totalVerified(),
          end.totalVerified() - base.totalVerified(),
          CONNECTIONS - end.failed().size(),
          end.failed().size(),
          OBSERVE.toSeconds(),
          fw2After,
          invalidDrops,
          freshEnd.connections(),
          freshEnd.totalVerified(),
          l.counters("fw2"));
    }
  }

  @ParameterizedTest(name = "source NAT {0}")
  @ValueSource(booleans = {false, true})
  void failoverWithSyncKeepsEveryConnection(boolean sourceNat) {
    try (FirewallPairLab l = FirewallPairLab.create(sourceNat)) {
      startPair(l, true);
      LabProcess client = startTraffic(l);
      awaitStatesOn(
          l,
          "fw2",
          client,
          Duration.ofSeconds(20),
          "the states of fw1's connections synced to fw2 before the crash");
      long fw2Forwarded = l.counter("fw2", "fwd_established");

      l.crash("fw1");
      l.awaitMaster("fw2", FAILOVER, "fw1");
      long masterAt = System.currentTimeMillis();
      TcpStreamsMain.Progress base = l.awaitProgressAfter(client, masterAt);

      // Every connection keeps flowing through fw2, without an error.
      l.awaitAllProgress(
          client, base, FLOWING_BYTES, CONNECTIONS, RECOVERY, "after the failover with sync");
      long forwardedSince = l.counter("fw2", "fwd_established") - fw2Forwarded;
      assertThat(forwardedSince)
          .as(
              "packets of the established connections fw2 forwarded after the failover\n"
                  + l.diagnostics())
          .isGreaterThan(CONNECTIONS * 10L);
      assertThat(l.missingFromConntrack("fw2", base))
          .as("client ports not in fw2's conntrack\n" + l.diagnostics())
          .isEmpty();
      TcpStreamsMain.Progress end = assertEveryByteCameBack(l, client);
      log.info(
          "with sync (source NAT {}): {} connections, {} bytes verified after the failover, fw2 counters {}",
          sourceNat,
          CONNECTIONS,
          end.totalVerified() - base.totalVerified(),
          l.counters("fw2"));
    }
  }

  @Test
  void lateJoinerGetsTableByBulkUpdate() {
    try (FirewallPairLab l = FirewallPairLab.create(true)) {
      // fw1 alone, and less preferred than fw2 will be. Its own bulk request goes unanswered: fw2
      // joins once fw1 has
      // given up waiting (5 s here). While both were waiting, both demoted by 32, fw2 could preempt
      // before its table
      // is in (demotions equal), as on OpenBSD: a race of start-up times, not what this test is
      // about.
      LabProcess fw1 =
          l.startAgent(
              "fw1",
              l.withSync(FirewallPairLab.agentConfig("fw1", 100, true))
                  + "  bulkUpdateTimeoutSeconds: 5\n");
      l.awaitMaster("fw1", ELECTION, "fw2");
      await().atMost(ELECTION).until(() -> fw1.output().contains("\"to\":\"TIMED_OUT\""));
      LabProcess client = startTraffic(l);
      TcpStreamsMain.Progress running = latestOrFail(l, client);
      assertThat(l.conntrack("fw2")).as("fw2's conntrack before it joins").isEmpty();

      // fw2 joins with a lower advskew and preempt: it must hold back until its table is complete.
      LabProcess fw2 = l.startAgent("fw2", l.withSync(FirewallPairLab.agentConfig("fw2", 0, true)));
      try {
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () ->
                    firstLine(fw2.output(), BULK_DONE) >= 0
                        || firstLine(fw2.output(), MASTER_TRANSITION) >= 0);
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "fw2 never logged its bulk update done (" + BULK_DONE + ")\n" + l.diagnostics(), e);
      }
      List<Integer> missing = l.missingFromConntrack("fw2", running);
      String out = fw2.output();
      int bulkDone = firstLine(out, BULK_DONE);
      int firstMaster = firstLine(out, MASTER_TRANSITION);
      assertThat(bulkDone >= 0 && (firstMaster < 0 || firstMaster > bulkDone))
          .as(
              "fw2 became MASTER before its bulk update was done (client ports missing from its conntrack then: "
                  + missing
                  + ")\n"
                  + l.diagnostics())
          .isTrue();
      assertThat(missing)
          .as(
              "client ports missing from fw2's conntrack once it says the bulk update is done\n"
                  + l.diagnostics())
          .isEmpty();

      // Then it preempts, and the connections carry on through it.
      l.awaitMaster("fw2", ELECTION);
      TcpStreamsMain.Progress base = l.awaitProgressAfter(client, System.currentTimeMillis());
      l.awaitAllProgress(client, base, FLOWING_BYTES, CONNECTIONS, RECOVERY, "after fw2 took over");
      assertEveryByteCameBack(l, client);
    }
  }

  /**
   * A node receiving a bulk update leaves the conntrack NEW and UPDATE event groups until it is in
   * (the kernel then builds no event for each state it writes). Its own connections opened
   * meanwhile must still reach the peer: the refresh from a dump after the bulk announces them. fw1
   * holds 50 000 states, so fw2's bulk lasts long enough for entries written every 10 ms on fw2 to
   * fall inside the window its log shows; the test checks that some did.
   */
  @Test
  void ownConnectionsOpenedWhileTheBulkComesInReachThePeer() throws Exception {
    try (FirewallPairLab l = FirewallPairLab.create(false)) {
      LabProcess fill = l.fw("fw1").startJava("fill", TableWriterMain.class, "fill", "50000", "0");
      assertThat(fill.waitFor(Duration.ofMinutes(2))).as(fill.output()).isZero();
      LabProcess fw1 =
          l.startAgent(
              "fw1",
              l.withSync(FirewallPairLab.agentConfig("fw1", 0, true))
                  + "  bulkUpdateTimeoutSeconds: 5\n");
      await().atMost(ELECTION).until(() -> fw1.output().contains("\"to\":\"TIMED_OUT\""));

      // fw2's own connections, one every 10 ms, from before its agent starts until after its bulk
      LabProcess trickle =
          l.fw("fw2").startJava("trickle", TableWriterMain.class, "trickle", "6000", "2", "10");
      await().atMost(Duration.ofSeconds(30)).until(() -> trickle.output().contains("CREATED"));
      LabProcess fw2 =
          l.startAgent("fw2", l.withSync(FirewallPairLab.agentConfig("fw2", 100, true)));
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> firstLine(fw2.output(), BULK_DONE) >= 0);
      Thread.sleep(1000); // some written after the window too
      trickle.close();

      long paused = logTime(fw2.output(), List.of(BULK_EVENTS, "\"following\":false"));
      long resumed = logTime(fw2.output(), List.of(BULK_EVENTS, "\"following\":true"));
      assertThat(paused)
          .as("fw2 stopped following its events for the bulk\n" + l.diagnostics())
          .isPositive();
      assertThat(resumed).as("fw2 followed its events again after the bulk").isGreaterThan(paused);
      Map<Integer, Long> created = new java.util.TreeMap<>();
      for (String line : trickle.output().split("\n"))
        if (line.startsWith("CREATED ")) {
          String[] f = line.split(" ");
          created.put(Integer.parseInt(f[2]), Long.parseLong(f[1]));
        }
      List<Integer> inWindow =
          created.entrySet().stream()
              .filter(e -> e.getValue() > paused && e.getValue() < resumed)
              .map(Map.Entry::getKey)
              .toList();
      assertThat(inWindow)
          .as("entries fw2 wrote while not following its events (window %d ms)", resumed - paused)
          .isNotEmpty();
      log.info(
          "fw2 did not follow its events for {} ms; {} of its {} entries were written then",
          resumed - paused,
          inWindow.size(),
          created.size());

      try {
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(500))
            .until(() -> trickledOn(l, "fw1").containsAll(created.keySet()));
      } catch (ConditionTimeoutException e) {
        List<Integer> missing = new java.util.ArrayList<>(created.keySet());
        missing.removeAll(trickledOn(l, "fw1"));
        throw new AssertionError(
            missing.size()
                + " of fw2's "
                + created.size()
                + " own entries never reached fw1 ("
                + inWindow.size()
                + " written while fw2 did not follow its events); missing: "
                + missing.subList(0, Math.min(20, missing.size()))
                + "\n"
                + l.diagnostics(),
            e);
      }
    }
  }

  static final String BULK_EVENTS = "\"event\":\"sync-bulk-events\"";

  /** The source ports of the trickled entries (TableWriterMain's set 2) in a firewall's table. */
  private static java.util.Set<Integer> trickledOn(FirewallPairLab l, String fw) {
    String out = l.fw(fw).exec("conntrack", "-L", "-p", "tcp", "-d", "203.0.113.21").stdout();
    java.util.Set<Integer> ports = new java.util.HashSet<>();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("sport=(\\d+)").matcher(out);
    while (m.find()) ports.add(Integer.parseInt(m.group(1)));
    return ports;
  }

  /** The epoch millis of the first log line with every one of {@code parts}, or -1. */
  private static long logTime(String output, List<String> parts) {
    int at = firstLine(output, parts);
    if (at < 0) return -1;
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("\"@timestamp\":\"([^\"]+)\"").matcher(output);
    return m.find(at) ? java.time.Instant.parse(m.group(1)).toEpochMilli() : -1;
  }

  /**
   * The torture test's finding: a firewall cut off from all its links while connections are opened
   * through the other, then plugged back, must ask for the states created meanwhile and hold back
   * (demoted) until they are in, before it preempts; otherwise it takes the VIPs with a table that
   * lacks them and drops their packets.
   */
  @Test
  void firewallBackFromALinkCutResyncsBeforeItPreempts() {
    try (FirewallPairLab l = FirewallPairLab.create(false)) {
      startPair(l, true);
      l.cutLinks("fw1");
      l.awaitMaster("fw2", ELECTION, "fw1");
      LabProcess client = startTrafficThrough(l, "fw2");
      TcpStreamsMain.Progress running = latestOrFail(l, client);
      assertThat(l.missingFromConntrack("fw1", running))
          .as("fw1 was cut off: it cannot know these connections")
          .isNotEmpty();

      LabProcess fw1 = l.agents.agent("fw1");
      int mark = fw1.output().length();
      l.restoreLinks("fw1");
      try {
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () ->
                    firstLine(fw1.output().substring(mark), BULK_DONE) >= 0
                        || firstLine(fw1.output().substring(mark), MASTER_TRANSITION) >= 0);
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "fw1 neither re-synced nor became master after its links came back\n" + l.diagnostics(),
            e);
      }
      List<Integer> missing = l.missingFromConntrack("fw1", running);
      String out = fw1.output().substring(mark);
      int bulkDone = firstLine(out, BULK_DONE);
      int firstMaster = firstLine(out, MASTER_TRANSITION);
      assertThat(bulkDone >= 0 && (firstMaster < 0 || firstMaster > bulkDone))
          .as(
              "fw1 became MASTER before it had the states created while it was cut off (missing then: "
                  + missing
                  + ")\n"
                  + l.diagnostics())
          .isTrue();
      assertThat(missing)
          .as(
              "client ports missing from fw1's conntrack once its bulk update is done\n"
                  + l.diagnostics())
          .isEmpty();
      assertThat(firstLine(out, List.of("\"event\":\"sync-link\"", "\"up\":true")))
          .as("fw1 logs its sync link back")
          .isNotNegative();

      l.awaitMaster("fw1", ELECTION);
      TcpStreamsMain.Progress base = l.awaitProgressAfter(client, System.currentTimeMillis());
      l.awaitAllProgress(
          client, base, FLOWING_BYTES, CONNECTIONS, RECOVERY, "after fw1 took back over");
      assertEveryByteCameBack(l, client);
    }
  }

  /**
   * The torture test's third finding: the master's lan link is cut (its sync link stays up), the
   * backup forwards its connections for a while, the link comes back and the old master preempts.
   * Its conntrack entries of those connections are its own (not written from a peer, so the kernel
   * checks their TCP windows), and nothing told it how far they moved: Linux reports nothing about
   * an established connection while it flows. Without relaxing the window check of its own entries
   * at takeover (TakeoverWindows) it drops every packet as "SEQ is over upper bound" and the
   * sessions stall for good. The streams here are fast (16 KB every 20 ms each), so they move far
   * past any receive window while fw1 is away.
   */
  @Test
  void oldMasterBackFromALanCutCarriesItsConnectionsOn() {
    try (FirewallPairLab l = FirewallPairLab.create(false)) {
      startPair(l, true);
      l.startServer();
      int connections = 8;
      LabProcess client = l.startClient("fast", connections, 0, 16 * 1024, 20);
      TcpStreamsMain.Progress before =
          l.awaitAllProgress(
              client, null, FLOWING_BYTES, connections, Duration.ofSeconds(40), "through fw1");
      assertThat(l.missingFromConntrack("fw1", before))
          .as("client ports not in fw1's conntrack\n" + l.diagnostics())
          .isEmpty();
      awaitStatesOn(l, "fw2", client, Duration.ofSeconds(20), "fw1's states synced to fw2");

      l.fw("fw1").cut(FirewallPairLab.LAN_IF, dev.carpoperator.testing.netns.NetnsLab.Side.BOTH);
      l.awaitMaster("fw2", ELECTION, "fw1");
      TcpStreamsMain.Progress cutAt = l.awaitProgressAfter(client, System.currentTimeMillis());
      // far past the receive windows fw1 last saw (each stream moves about 800 KB a second)
      l.awaitAllProgress(
          client, cutAt, 8L << 20, connections, RECOVERY, "through fw2 while fw1's lan is cut");

      l.fw("fw1")
          .restore(FirewallPairLab.LAN_IF, dev.carpoperator.testing.netns.NetnsLab.Side.BOTH);
      l.awaitMaster("fw1", ELECTION);
      TcpStreamsMain.Progress base = l.awaitProgressAfter(client, System.currentTimeMillis());
      l.awaitAllProgress(client, base, 1L << 20, connections, RECOVERY, "after fw1 took back over");
      assertEveryByteCameBack(l, client);
      assertThat(l.agents.agent("fw1").output().lines())
          .as("fw1 logs the window checks it relaxed when it took over")
          .anyMatch(
              line ->
                  line.contains("\"event\":\"sync-takeover\"")
                      && line.matches(".*\"connections\":[1-9].*"));
    }
  }

  /** Server and client started; returns once every connection carries data through {@code fw}. */
  private static LabProcess startTrafficThrough(FirewallPairLab l, String fw) {
    l.startServer();
    LabProcess client = l.startClient("streams", CONNECTIONS, 0);
    TcpStreamsMain.Progress p =
        l.awaitAllProgress(
            client, null, FLOWING_BYTES, CONNECTIONS, Duration.ofSeconds(40), "before the restore");
    assertThat(l.missingFromConntrack(fw, p))
        .as("client ports not in " + fw + "'s conntrack\n" + l.diagnostics())
        .isEmpty();
    return client;
  }

  private static void awaitStatesOn(
      FirewallPairLab l, String fw, LabProcess client, Duration within, String what) {
    TcpStreamsMain.Progress p = latestOrFail(l, client);
    try {
      await()
          .atMost(within)
          .pollInterval(Duration.ofMillis(250))
          .until(() -> l.missingFromConntrack(fw, p).isEmpty());
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          what
              + ": client ports missing from "
              + fw
              + "'s conntrack: "
              + l.missingFromConntrack(fw, p)
              + "\n"
              + l.diagnostics(),
          e);
    }
  }

  private static TcpStreamsMain.Progress latestOrFail(FirewallPairLab l, LabProcess client) {
    TcpStreamsMain.Progress p = FirewallPairLab.latest(client);
    if (p == null)
      throw new AssertionError(
          "no progress from the client\n" + FirewallPairLab.tail(client, 20) + l.diagnostics());
    return p;
  }

  static final List<String> MASTER_TRANSITION =
      List.of("\"event\":\"state-change\"", "\"to\":\"MASTER\"");

  /**
   * Offset of the first line of an agent's output that contains every one of {@code parts}, or -1.
   */
  private static int firstLine(String output, List<String> parts) {
    int offset = 0;
    for (String line : output.split("\n", -1)) {
      if (parts.stream().allMatch(line::contains)) return offset;
      offset += line.length() + 1;
    }
    return -1;
  }

  /**
   * Stops the client and checks its summary: no connection saw an error, and every byte each sent
   * came back. Returns the summary.
   */
  private static TcpStreamsMain.Progress assertEveryByteCameBack(
      FirewallPairLab l, LabProcess client) {
    TcpStreamsMain.Progress end = l.stopClient(client);
    assertThat(end.failed())
        .as("connections with an error: " + end.describe() + "\n" + l.diagnostics())
        .isEmpty();
    assertThat(end.drained())
        .as("every connection got every byte it sent back: " + end.describe())
        .doesNotContain(false);
    return end;
  }
}
