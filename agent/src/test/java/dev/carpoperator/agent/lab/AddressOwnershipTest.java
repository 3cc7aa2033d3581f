package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.testing.netns.NetnsLab;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An agent removes only the addresses it added itself (its address record), never one of the host's
 * own: a VirtualAddress that names a node's IP (a typo) is refused on that node instead of taking
 * the IP off it. Real agents in network namespaces; the timeouts are upper bounds for a busy 2-core
 * machine.
 */
class AddressOwnershipTest {
  static final Duration START = Duration.ofSeconds(60);
  static final String VIP = "192.0.2.100";

  /** vhid 1 on {@code firstAddress}, vhid 2 on 192.0.2.101. */
  static String twoVhids(String node, int advskew, String firstAddress) {
    return """
        node: %s
        logFormat: json
        virtualAddresses:
          - {vhid: 1, interface: eth0, addresses: ["%s"], advskew: %d, password: secret}
          - {vhid: 2, interface: eth0, addresses: ["192.0.2.101/24"], advskew: %d, password: secret}
        """
        .formatted(node, firstAddress, advskew, advskew);
  }

  static String addresses(AgentLab l, String host) {
    return l.lab.host(host).exec("ip", "-o", "addr", "show", "dev", NetnsLab.HOST_IF).stdout();
  }

  static void awaitLog(AgentLab l, String host, Duration within, String... parts) {
    try {
      await()
          .atMost(within)
          .pollInterval(Duration.ofMillis(200))
          .until(
              () ->
                  l.agent(host)
                          .output()
                          .lines()
                          .anyMatch(line -> List.of(parts).stream().allMatch(line::contains))
                      || !l.agent(host).isAlive());
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          "no log line of " + host + " with " + List.of(parts) + "\n" + l.logTails(), e);
    }
    assertThat(l.agent(host).isAlive())
        .as("the agent on " + host + " runs\n" + l.logTails())
        .isTrue();
  }

  static List<AddressRecord.Entry> record(AgentLab l, String host) throws Exception {
    return List.copyOf(AddressRecord.inDirectory(l.runtimeDirectory(host)).entries());
  }

  @Test
  void aVirtualAddressThatIsTheNodesOwnIpIsRefusedThereAndTheIpStays() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      // The typo: vhid 1 names b's own address 192.0.2.12/24.
      l.startAgent("a", twoVhids("a", 0, "192.0.2.12/24"));
      l.awaitOnlyHolder(
          "192.0.2.101", "a", START); // a is master before b starts: no race of JVM start-up times
      l.startAgent("b", twoVhids("b", 100, "192.0.2.12/24"));

      awaitLog(
          l,
          "b",
          START,
          "\"event\":\"vhid-refused\"",
          "\"reason\":\"AddressIsNodeAddress\"",
          "\"vhid\":1");
      assertThat(l.agent("b").output())
          .contains("192.0.2.12/24 is this node's own address 192.0.2.12/24 on eth0");
      // b runs its other vhid as backup of a: the start-up and every election step are behind us.
      l.awaitOnlyHolder("192.0.2.101", "a", AgentLab.SETTLE);
      await().atMost(AgentLab.SETTLE).until(() -> l.transitionsTo("b", "BACKUP") >= 1);
      assertThat(addresses(l, "b")).as("b keeps its own IP").contains(" 192.0.2.12/24 ");
      assertThat(
              l.agent("b")
                  .output()
                  .lines()
                  .filter(
                      s -> s.contains("\"event\":\"state-change\"") && s.contains("\"vhid\":1,")))
          .as("vhid 1 never runs on b")
          .isEmpty();
      assertThat(record(l, "b")).as("b added nothing").isEmpty();

      // A clean stop releases what b added, never its own IP.
      l.agent("b").stop(Duration.ofSeconds(15));
      assertThat(addresses(l, "b")).contains(" 192.0.2.12/24 ");
    }
  }

  /**
   * In Kubernetes addresses usually come after the agent started: the same check on a configuration
   * change.
   */
  @Test
  void aVhidAddedLaterOnTheNodesOwnIpIsRefusedAndRunsOnceCorrected() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a")) {
      String one = AgentLab.config("a", 2, 0, false, "secret", "192.0.2.101/24");
      l.startAgent("a", one);
      l.awaitOnlyHolder("192.0.2.101", "a", START);
      String withTypo =
          one
              + "  - {vhid: 1, interface: eth0, addresses: [\"192.0.2.11/24\"], advskew: 0, password: secret}\n";
      String runtime = "runtimeDirectory: " + l.runtimeDirectory("a") + "\n"; // as AgentLab adds it
      ReconfigureTest.rewrite(l, "a", withTypo + runtime);

      awaitLog(
          l,
          "a",
          START,
          "\"event\":\"vhid-refused\"",
          "\"reason\":\"AddressIsNodeAddress\"",
          "\"vhid\":1");
      assertThat(addresses(l, "a")).as("a keeps its own IP").contains(" 192.0.2.11/24 ");
      assertThat(l.holders("192.0.2.101")).as("vhid 2 untouched").containsExactly("a");

      ReconfigureTest.rewrite(
          l, "a", withTypo.replace("192.0.2.11/24", "192.0.2.102/24") + runtime);
      l.awaitOnlyHolder("192.0.2.102", "a", START);
      assertThat(addresses(l, "a")).contains(" 192.0.2.11/24 ");
      assertThat(record(l, "a"))
          .containsExactlyInAnyOrder(
              new AddressRecord.Entry("eth0", "192.0.2.101/24"),
              new AddressRecord.Entry("eth0", "192.0.2.102/24"));
    }
  }

  @Test
  void aVipLeftByAKilledAgentIsRemovedWhenItRestartsAsBackup() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
      l.awaitOnlyHolder(VIP, "a", START);
      l.startAgent("b", AgentLab.config("b", 1, 100, false, "secret", VIP + "/24"));
      await().atMost(START).until(() -> l.transitionsTo("b", "BACKUP") >= 1);
      assertThat(record(l, "a")).containsExactly(new AddressRecord.Entry("eth0", VIP + "/24"));

      l.kill("a"); // SIGKILL: the VIP stays on a's NIC, and in its record
      await().atMost(AgentLab.SETTLE).until(() -> l.holders(VIP), h -> h.equals(List.of("a", "b")));
      assertThat(record(l, "a")).containsExactly(new AddressRecord.Entry("eth0", VIP + "/24"));

      l.restartAgent("a"); // no preemption: b stays master, a comes back as backup
      l.awaitOnlyHolder(VIP, "b", AgentLab.SETTLE);
      awaitLog(l, "a", START, "\"event\":\"leftover-removed\"", VIP + "/24");
      assertThat(record(l, "a")).isEmpty();
      assertThat(addresses(l, "a")).as("a's own IP untouched").contains(" 192.0.2.11/24 ");
    }
  }

  @Test
  void aRecordedAddressNoLongerConfiguredIsRemovedAtStart() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a")) {
      // As after a crash of a run whose configuration had 192.0.2.120: on the NIC and in the
      // record.
      l.lab.host("a").exec("ip", "addr", "add", "192.0.2.120/24", "dev", NetnsLab.HOST_IF).check();
      Files.createDirectories(l.runtimeDirectory("a"));
      Files.writeString(
          l.runtimeDirectory("a").resolve(AddressRecord.FILE_NAME), "eth0 192.0.2.120/24\n");

      l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
      l.awaitOnlyHolder(VIP, "a", START);
      assertThat(addresses(l, "a")).doesNotContain("192.0.2.120/").contains(" 192.0.2.11/24 ");
      assertThat(record(l, "a")).containsExactly(new AddressRecord.Entry("eth0", VIP + "/24"));
    }
  }

  @Test
  void anUnrecordedAddressEqualToAVipIsLeftAloneAndTheVhidWaitsUntilItIsGone() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      // Not in a's record: an older agent's leftover, or added by hand. The agent must not guess.
      l.lab.host("b").exec("ip", "addr", "add", VIP + "/24", "dev", NetnsLab.HOST_IF).check();
      l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
      await().atMost(START).until(() -> l.transitionsTo("a", "MASTER") >= 1);
      l.startAgent("b", AgentLab.config("b", 1, 100, false, "secret", VIP + "/24"));

      awaitLog(l, "b", START, "\"event\":\"vhid-refused\"", "\"reason\":\"AddressIsNodeAddress\"");
      assertThat(l.agent("b").output()).contains("ip addr del");
      await().atMost(AgentLab.SETTLE).until(() -> l.holders(VIP), h -> h.equals(List.of("a", "b")));
      await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(5))
          .until(() -> addresses(l, "b").contains(" " + VIP + "/24 "));
      assertThat(record(l, "b")).isEmpty();

      // What the message says to do: remove it, restart; b then runs the vhid as backup.
      l.lab.host("b").exec("ip", "addr", "del", VIP + "/24", "dev", NetnsLab.HOST_IF).check();
      l.agent("b").stop(Duration.ofSeconds(15));
      l.restartAgent("b");
      await().atMost(START).until(() -> l.transitionsTo("b", "BACKUP") >= 1);
      l.awaitOnlyHolder(VIP, "a", AgentLab.SETTLE);
    }
  }
}
