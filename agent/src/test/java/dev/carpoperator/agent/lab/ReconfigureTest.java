package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A running agent applies a changed config file without disturbing what did not change: changing
 * one vhid's address must never make another vhid fail over; an invalid file is refused whole.
 */
class ReconfigureTest {
  static String twoVhids(String node, int advskew, String secondAddress) {
    return """
        node: %s
        virtualAddresses:
          - {vhid: 1, interface: eth0, addresses: ["192.0.2.100/24"], advskew: %d, password: secret}
          - {vhid: 2, interface: eth0, addresses: ["%s/24"], advskew: %d, password: secret}
        """
        .formatted(node, advskew, secondAddress, advskew);
  }

  static void rewrite(AgentLab l, String host, String yaml) throws IOException {
    Path file = l.lab.dir().resolve(host + "-agent.yaml");
    Path tmp = l.lab.dir().resolve(host + "-agent.yaml.tmp");
    Files.writeString(tmp, yaml);
    Files.move(
        tmp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  static long vhidTransitions(AgentLab l, String host, int vhid) {
    return l.agent(host)
        .output()
        .lines()
        .filter(
            s -> s.contains("\"event\":\"state-change\"") && s.contains("\"vhid\":" + vhid + ","))
        .count();
  }

  @Test
  void changingOneAddressLeavesTheOtherVhidAlone() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      // a first: without preemption the first to time out keeps the addresses
      l.startAgent("a", twoVhids("a", 0, "192.0.2.101"));
      l.awaitStarted("a", AgentLab.SETTLE);
      l.startAgent("b", twoVhids("b", 100, "192.0.2.101"));
      // b runs both vhids as backup before the counts below: its start-up is no state change of the
      // reconfiguration
      await()
          .atMost(AgentLab.SETTLE)
          .until(() -> vhidTransitions(l, "b", 1) >= 1 && vhidTransitions(l, "b", 2) >= 1);
      l.awaitOnlyHolder("192.0.2.100", "a", AgentLab.SETTLE);
      l.awaitOnlyHolder("192.0.2.101", "a", AgentLab.SETTLE);
      long vhid1OnA = vhidTransitions(l, "a", 1);
      long vhid1OnB = vhidTransitions(l, "b", 1);

      // Both nodes move vhid 2 to another address (the address set is part of the HMAC, so both
      // must change).
      rewrite(l, "a", twoVhids("a", 0, "192.0.2.102"));
      rewrite(l, "b", twoVhids("b", 100, "192.0.2.102"));
      l.awaitOnlyHolder("192.0.2.102", "a", AgentLab.SETTLE);
      await().atMost(Duration.ofSeconds(10)).until(() -> l.holders("192.0.2.101").isEmpty());
      assertThat(l.agent("a").output()).contains("\"event\":\"reconfigure\"");

      // vhid 1 never moved: no state change on either node, and a held its address throughout.
      await()
          .during(Duration.ofSeconds(4))
          .atMost(Duration.ofSeconds(6))
          .until(() -> l.holders("192.0.2.100").equals(List.of("a")));
      assertThat(vhidTransitions(l, "a", 1)).isEqualTo(vhid1OnA);
      assertThat(vhidTransitions(l, "b", 1)).isEqualTo(vhid1OnB);
    }
  }

  @Test
  void anInvalidEditIsRefusedAndNothingChanges() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a")) {
      l.startAgent("a", twoVhids("a", 0, "192.0.2.101"));
      l.awaitOnlyHolder("192.0.2.101", "a", AgentLab.SETTLE);
      rewrite(
          l,
          "a",
          twoVhids("a", 0, "192.0.2.102")
              .replace("advskew: 0, password", "advskew: 300, password"));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> l.agent("a").output().contains("\"event\":\"reconfigure-refused\""));
      assertThat(l.agent("a").output())
          .contains("virtualAddresses[1].advskew: must be 0-254, got 300");
      await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  l.holders("192.0.2.101").equals(List.of("a"))
                      && l.holders("192.0.2.102").isEmpty());
    }
  }
}
