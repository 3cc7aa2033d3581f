package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Real agents electing over real (virtual) NICs: separate JVMs in network namespaces joined by a
 * bridge. The timeouts below are generous upper bounds for a loaded 2-core CI machine, not
 * performance assertions; failover times are measured by the benchmark harness and recorded in
 * docs/.
 */
class ElectionTest {
  static final String VIP = "192.0.2.100";
  static final Duration ELECTION = Duration.ofSeconds(25);

  /** Gratuitous ARPs per announcement (AddressActuator.ANNOUNCE_BURST, package-private there). */
  static final int ANNOUNCE_BURST = 3;

  /**
   * a, b, c with advskew 0, 100, 200, no preemption: a must win. Returns once all three are ready:
   * before that b or c may not run yet, and what the tests check of them would be a race with their
   * JVMs' start-up.
   */
  private static void startThreeAndElectA(AgentLab l) {
    l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
    l.awaitStarted(
        "a", ELECTION); // a first: without preemption the first to time out keeps the address
    l.startAgent("b", AgentLab.config("b", 1, 100, false, "secret", VIP + "/24"));
    l.startAgent("c", AgentLab.config("c", 1, 200, false, "secret", VIP + "/24"));
    l.awaitReady("b", ELECTION);
    l.awaitReady("c", ELECTION);
    l.awaitOnlyHolder(VIP, "a", ELECTION);
  }

  @Test
  void threeNodesElectTheLowestAdvskewAndLogEachChangeAsJson() {
    try (AgentLab l = new AgentLab().hosts("a", "b", "c")) {
      startThreeAndElectA(l);
      // Settled: it stays that way for several master-down periods.
      await()
          .during(Duration.ofSeconds(6))
          .atMost(Duration.ofSeconds(8))
          .until(() -> l.holders(VIP).equals(List.of("a")));
      assertThat(l.agent("a").output())
          .contains(
              "\"event\":\"state-change\"",
              "\"vhid\":1",
              "\"from\":\"BACKUP\"",
              "\"to\":\"MASTER\"");
      assertThat(l.transitionsTo("b", "MASTER")).isZero();
      assertThat(l.transitionsTo("c", "MASTER")).isZero();
    }
  }

  @Test
  void killedMasterIsReplacedByTheNextBackup() {
    try (AgentLab l = new AgentLab().hosts("a", "b", "c")) {
      startThreeAndElectA(l);

      l.kill("a"); // SIGKILL: no bow-out, the address stays on a's NIC as after a crash
      l.lab.host("a").exec("ip", "addr", "flush", "dev", NetnsLab.HOST_IF, "to", VIP + "/32");
      l.awaitOnlyHolder(VIP, "b", Duration.ofSeconds(15));
      assertThat(l.transitionsTo("c", "MASTER")).as("c (advskew 200) waits longer than b").isZero();
    }
  }

  @Test
  void cleanShutdownBowsOutSoTheBackupTakesOverAtOnce() {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
      l.awaitStarted(
          "a", ELECTION); // a first: without preemption the first to time out keeps the address
      l.startAgent("b", AgentLab.config("b", 1, 100, false, "secret", VIP + "/24"));
      l.awaitReady("b", ELECTION); // b must hear the bow-out
      l.awaitOnlyHolder(VIP, "a", ELECTION);

      l.agent("a").stop(Duration.ofSeconds(10)); // SIGTERM
      l.awaitOnlyHolder(VIP, "b", Duration.ofSeconds(10));
      assertThat(l.agent("b").output()).contains("\"reason\":\"" + "bow-out-received" + "\"");
    }
  }

  @Test
  void preemptionDecidesWhetherTheReturningPreferredNodeTakesBack() {
    for (boolean preempt : new boolean[] {true, false}) {
      try (AgentLab l = new AgentLab().hosts("a", "b")) {
        l.startAgent("a", AgentLab.config("a", 1, 0, preempt, "secret", VIP + "/24"));
        l.awaitStarted(
            "a", ELECTION); // a first: without preemption the first to time out keeps the address
        l.startAgent("b", AgentLab.config("b", 1, 100, preempt, "secret", VIP + "/24"));
        l.awaitReady("b", ELECTION);
        l.awaitOnlyHolder(VIP, "a", ELECTION);
        l.agent("a").stop(Duration.ofSeconds(10));
        l.awaitOnlyHolder(VIP, "b", Duration.ofSeconds(10));

        l.restartAgent("a");
        if (preempt) {
          l.awaitOnlyHolder(VIP, "a", ELECTION);
        } else {
          // a back and running as backup, then several master-down periods: it does not take back
          l.awaitReady("a", ELECTION);
          await()
              .during(Duration.ofSeconds(8))
              .atMost(Duration.ofSeconds(10))
              .until(() -> l.holders(VIP).equals(List.of("b")));
        }
      }
    }
  }

  @Test
  void wrongPasswordAdvertsAreRejectedAndCounted() {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
      l.awaitStarted(
          "a", ELECTION); // a first: without preemption the first to time out keeps the address
      l.startAgent(
          "b",
          AgentLab.config("b", 1, 100, false, "another", VIP + "/24")
              .replace("logFormat: json", "logFormat: json\nmetricsPort: 9402"));
      // b ignores a's adverts, so both claim the address: the split brain a wrong password causes.
      await().atMost(ELECTION).until(() -> l.holders(VIP).containsAll(List.of("a", "b")));
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(Metrics.scrape(l.lab.host("b"), 9402))
                      .containsPattern(
                          "carp_adverts_rejected_total\\{interface=\"eth0\",reason=\"bad_auth\"} [1-9]"));
      assertThat(l.agent("b").output()).contains("bad_auth");
    }
  }

  @Test
  void linkDownMakesTheMasterStepBackAndDemote() {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      l.startAgent(
          "a",
          AgentLab.config("a", 1, 0, true, "secret", VIP + "/24")
              .replace("logFormat: json", "logFormat: json\nmetricsPort: 9402"));
      l.awaitStarted(
          "a", ELECTION); // a first: without preemption the first to time out keeps the address
      l.startAgent("b", AgentLab.config("b", 1, 100, true, "secret", VIP + "/24"));
      l.awaitReady("b", ELECTION);
      l.awaitOnlyHolder(VIP, "a", ELECTION);

      l.lab.host("a").cut(NetnsLab.Side.SWITCH); // the peer end goes down: a loses carrier
      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> l.holders(VIP).contains("b") && !l.holders(VIP).contains("a"));
      assertThat(l.agent("a").output()).contains("\"to\":\"INIT\"", "\"reason\":\"link-down\"");
      assertThat(Metrics.scrape(l.lab.host("a"), 9402))
          .containsPattern("(?m)^carp_demotion 1\\.0$");

      l.lab.host("a").restore(NetnsLab.Side.SWITCH);
      l.awaitOnlyHolder(VIP, "a", ELECTION); // preempt: the preferred node takes back when healthy
    }
  }

  /**
   * A master frozen (SIGSTOP) past master-down resumes still MASTER after the backup took over and
   * announced the address with its own MAC. Host n (no agent) must be sent back to the master: the
   * other node, backup again, would otherwise go on receiving n's traffic and, being a router,
   * forwarding it until it fails (the 2-hour torture run's finding, docs/torture.md). Without a new
   * announcement n keeps b's MAC for as long as it has no reason to ask again.
   */
  @Test
  void aMasterResumingFromAFreezeSendsTheNeighboursBackToItself() {
    try (AgentLab l = new AgentLab().hosts("a", "b", "n")) {
      NetnsLab.Host n = l.lab.host("n");
      String macA = l.lab.host("a").mac();
      String macB = l.lab.host("b").mac();
      countAnnouncements(n, VIP, macA, macB);
      l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
      l.awaitStarted("a", ELECTION);
      l.startAgent("b", AgentLab.config("b", 1, 100, false, "secret", VIP + "/24"));
      l.awaitReady("b", ELECTION);
      l.awaitOnlyHolder(VIP, "a", ELECTION);
      // a's takeover burst and its delayed re-announce (second advert) are out: from now on an
      // announcement from a is one the freeze caused
      int burst = ANNOUNCE_BURST;
      await().atMost(ELECTION).until(() -> announcements(n, macA) == 2 * burst);
      n.exec("ping", "-c1", "-W5", VIP).check();
      assertThat(neighbourMac(n, VIP)).isEqualTo(macA);

      l.agent("a").signal("STOP");
      // b times out and announces the address with its MAC: n follows (a still has the address)
      await().atMost(ELECTION).until(() -> macB.equals(neighbourMac(n, VIP)));

      l.agent("a").signal("CONT");
      l.awaitOnlyHolder(VIP, "a", ELECTION); // b hears a's adverts and steps down
      List<String> seen = new ArrayList<>(); // n's entry, each change
      Callable<Boolean> pointsAtA =
          () -> {
            String mac = neighbourMac(n, VIP);
            if (seen.isEmpty() || !seen.getLast().equals(mac)) seen.add(mac);
            return mac.equals(macA);
          };
      try {
        await().atMost(Duration.ofSeconds(15)).until(pointsAtA);
        // and it stays there: b announced nothing after stepping down
        await()
            .during(Duration.ofSeconds(4))
            .atMost(Duration.ofSeconds(6))
            .pollInterval(Duration.ofMillis(100))
            .until(pointsAtA);
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "n's neighbour entry for the VIP should end at a's MAC "
                + macA
                + " (b's is "
                + macB
                + "); it went "
                + seen
                + ", announcements from a "
                + announcements(n, macA)
                + ", from b "
                + announcements(n, macB)
                + "\n"
                + l.logTails(),
            e);
      }
      assertThat(announcements(n, macA))
          .as("a announced again after the resume")
          .isGreaterThan(2 * burst);
      assertThat(l.agent("a").output())
          .as("a stayed master throughout")
          .doesNotContain("\"from\":\"MASTER\"");
    }
  }

  /**
   * Counts, on host {@code h}, the gratuitous ARP requests for {@code vip} from each of the MACs
   * (nftables counters in an arp table, read by {@link #announcements}).
   */
  static void countAnnouncements(NetnsLab.Host h, String vip, String... macs) {
    h.exec("nft", "add table arp announcements").check();
    h.exec("nft", "add chain arp announcements in { type filter hook input priority 0; }").check();
    for (String mac : macs)
      h.exec(
              "nft",
              "add rule arp announcements in ether saddr "
                  + mac
                  + " arp operation request arp saddr ip "
                  + vip
                  + " arp daddr ip "
                  + vip
                  + " counter")
          .check();
  }

  static int announcements(NetnsLab.Host h, String mac) {
    String rules = h.exec("nft", "list chain arp announcements in").stdout();
    Matcher m = Pattern.compile("ether saddr " + mac + " .* counter packets (\\d+)").matcher(rules);
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }

  /** The link-layer address host {@code h} has for {@code ip}, or "" when it has none. */
  static String neighbourMac(NetnsLab.Host h, String ip) {
    String line = h.exec("ip", "neigh", "show", ip, "dev", NetnsLab.HOST_IF).stdout();
    Matcher m = Pattern.compile("lladdr (\\S+)").matcher(line);
    return m.find() ? m.group(1) : "";
  }

  @Test
  void ipv6OnlyAddressIsElectedAndAnnounced() {
    String vip6 = "2001:db8::100";
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      l.startAgent("a", AgentLab.config("a", 7, 0, false, "secret", vip6 + "/64"));
      l.awaitStarted(
          "a", ELECTION); // a first: without preemption the first to time out keeps the address
      l.startAgent("b", AgentLab.config("b", 7, 100, false, "secret", vip6 + "/64"));
      l.awaitReady("b", ELECTION);
      l.awaitOnlyHolder(vip6, "a", ELECTION);
      String flags =
          l.lab.host("a").exec("ip", "-6", "-o", "addr", "show", "dev", NetnsLab.HOST_IF).stdout();
      assertThat(flags)
          .as("the virtual address is not preferred as a source")
          .containsPattern(vip6 + "/64 .*preferred_lft 0sec");
      l.agent("a").stop(Duration.ofSeconds(10));
      l.awaitOnlyHolder(vip6, "b", Duration.ofSeconds(10));
    }
  }

  @Test
  void fastProfileElectsAndFailsOverWithSubSecondAdverts() {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      // advskew 26 and 52: adverts about every 100 ms and 200 ms
      l.startAgent(
          "a",
          AgentLab.fastConfig("a", 3, 26, true, VIP + "/24")
              .replace("logFormat: json", "logFormat: json\nmetricsPort: 9402"));
      l.awaitStarted(
          "a", ELECTION); // a first: without preemption the first to time out keeps the address
      l.startAgent("b", AgentLab.fastConfig("b", 3, 52, true, VIP + "/24"));
      l.awaitReady("b", ELECTION); // the backup whose stability is checked runs
      l.awaitOnlyHolder(VIP, "a", ELECTION);
      // Stable over many intervals: the backup learned the master's interval and does not flap.
      await()
          .during(Duration.ofSeconds(4))
          .atMost(Duration.ofSeconds(6))
          .until(() -> l.holders(VIP).equals(List.of("a")));
      assertThat(l.transitionsTo("b", "MASTER")).isZero();
      assertThat(Metrics.scrape(l.lab.host("a"), 9402))
          .containsPattern("carp_adverts_sent_total\\{interface=\"eth0\",vhid=\"3\"} [0-9]{2,}");

      l.kill("a");
      l.lab.host("a").exec("ip", "addr", "del", VIP + "/24", "dev", NetnsLab.HOST_IF);
      l.awaitOnlyHolder(VIP, "b", Duration.ofSeconds(10));
    }
  }

  @Test
  void unicastPeersElectAndFailOverWithoutMulticastAdverts() {
    try (AgentLab l = new AgentLab().hosts("a", "b", "c")) {
      // a's list names a itself first, as the one list a VirtualAddress gives every node in
      // Kubernetes does.
      String peersOfA = "\n    peers: [\"192.0.2.11\", \"192.0.2.12\"]";
      String peersOfB = "\n    peers: [\"192.0.2.11\"]";
      l.startAgent(
          "a",
          AgentLab.config("a", 1, 0, false, "secret", VIP + "/24")
              .replace("advskew: 0", "advskew: 0" + peersOfA));
      l.awaitStarted(
          "a", ELECTION); // a first: without preemption the first to time out keeps the address
      l.startAgent(
          "b",
          AgentLab.config("b", 1, 100, false, "secret", VIP + "/24")
              .replace("advskew: 100", "advskew: 100" + peersOfB));
      l.awaitReady("b", ELECTION);
      l.awaitOnlyHolder(VIP, "a", ELECTION);
      // c listens on the multicast group only: a's unicast adverts never reach it, so c claims the
      // address too.
      l.startAgent("c", AgentLab.config("c", 1, 200, false, "secret", VIP + "/24"));
      await().atMost(ELECTION).until(() -> l.holders(VIP).contains("c"));
      assertThat(l.holders(VIP)).contains("a").doesNotContain("b");
      l.kill("c");
      l.lab.host("c").exec("ip", "addr", "del", VIP + "/24", "dev", NetnsLab.HOST_IF);

      l.kill("a");
      l.lab.host("a").exec("ip", "addr", "del", VIP + "/24", "dev", NetnsLab.HOST_IF);
      l.awaitOnlyHolder(VIP, "b", Duration.ofSeconds(15));
    }
  }
}
