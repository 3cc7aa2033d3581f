package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import java.util.List;
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
