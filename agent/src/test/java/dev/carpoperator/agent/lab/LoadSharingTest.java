package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.carp.LoadBalancing;
import dev.carpoperator.agent.linux.LoadShareRules;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.testing.netns.ExecResult;
import dev.carpoperator.testing.netns.NetnsLab;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Load sharing with real agents: fw1 and fw2 share 192.0.2.100 over vhids 3 and 4 (carpnodes
 * 3:0,4:100 on fw1 and 3:100,4:0 on fw2), six clients on the same bridge. Each client's traffic
 * must be served by exactly the node that masters the vhid its hash bucket maps to (predicted with
 * the Java mirror of the kernel's hash, so this also checks that the two agree), with no duplicate
 * answers, both nodes getting a share; after fw1 crashes, fw2 serves all.
 */
class LoadSharingTest {
  static final String VIP = "192.0.2.100";
  static final int PORT = 7070;
  static final Duration ELECTION = Duration.ofSeconds(25);
  static final Pattern MASTERS = Pattern.compile("\"masters\":\\[([0-9,]*)]");

  static String config(String node, String balancing, int skew3, int skew4) {
    return """
        node: %s
        preempt: true
        logFormat: json
        virtualAddresses:
          - interface: eth0
            addresses: ["%s/24"]
            balancing: %s
            carpNodes: [{vhid: 3, advskew: %d}, {vhid: 4, advskew: %d}]
            password: "secret"
        """
        .formatted(node, VIP, balancing, skew3, skew4);
  }

  /** One client: its address, MAC, and the node that must serve it while both nodes run. */
  record Client(String name, String address, String mac, String servedBy) {}

  @ParameterizedTest
  @ValueSource(strings = {"ip", "ip-stealth", "ip-unicast", "arp"})
  void eachClientIsServedByExactlyOneNodeAndTheSurvivorServesAllAfterACrash(String balancing)
      throws Exception {
    try (AgentLab l = new AgentLab().hosts("fw1", "fw2")) {
      List<Client> clients = clients(balancing);
      for (Client c : clients) {
        NetnsLab.Host h = l.lab.addHost(c.name(), c.address() + "/24");
        h.exec("ip", "link", "set", "dev", NetnsLab.HOST_IF, "address", c.mac()).check();
      }
      if (balancing.equals("ip-unicast")) {
        // ip-unicast needs a hub (or a switch told to flood): the leader's adverts come from the
        // group MAC, so a
        // learning switch would send all of the group's traffic to one node. A bridge that learns
        // nothing floods.
        for (var h : l.lab.hosts())
          l.lab
              .execOnSwitch("bridge", "link", "set", "dev", h.switchPort(), "learning", "off")
              .check();
      }
      for (String fw : List.of("fw1", "fw2"))
        l.lab.host(fw).startJava("whoami", WhoAmIMain.class.getName(), List.of(), "" + PORT, fw);
      l.startAgent("fw1", config("fw1", balancing, 0, 100));
      l.startAgent("fw2", config("fw2", balancing, 100, 0));

      awaitMasters(l, Map.of("fw1", List.of(3), "fw2", List.of(4)), ELECTION);
      assertThat(l.holders(VIP))
          .as("every node keeps the shared address")
          .containsExactly("fw1", "fw2");
      assertThat(clients.stream().map(Client::servedBy).distinct().sorted().toList())
          .as("the chosen clients fall in both buckets")
          .containsExactly("fw1", "fw2");
      for (Client c : clients) awaitServedBy(l, c, c.servedBy());
      for (Client c : clients) assertNoDuplicates(l, c);

      // fw1 crashes: no bow-out, its kernel and rules vanish with it (agent killed, cable pulled).
      l.kill("fw1");
      l.lab.host("fw1").cut(NetnsLab.Side.SWITCH);
      awaitMasters(l, Map.of("fw2", List.of(3, 4)), Duration.ofSeconds(15));
      for (Client c : clients) awaitServedBy(l, c, "fw2");
      for (Client c : clients) assertNoDuplicates(l, c);
      assertThat(l.agent("fw2").output()).contains("\"event\":\"load-share\"", "\"updateMillis\"");
    }
  }

  /**
   * Three clients per bucket, picked by the bucket function the mode uses (IP: address pair, ARP:
   * client MAC).
   */
  static List<Client> clients(String balancing) throws Exception {
    List<Client> out = new ArrayList<>();
    int[] perBucket = new int[2];
    InetAddress vip = InetAddress.ofLiteral(VIP);
    for (int i = 0; out.size() < 6 && i < 200; i++) {
      String address = "192.0.2." + (20 + (balancing.equals("arp") ? out.size() : i));
      String mac = "02:cb:00:00:00:%02x".formatted(balancing.equals("arp") ? i : out.size() + 1);
      int bucket =
          balancing.equals("arp")
              ? LoadBalancing.arpBucket(MacAddress.parse(mac).bytes(), 2, LoadShareRules.HASH_SEED)
              : LoadBalancing.linuxIpBucket(
                  InetAddress.ofLiteral(address), vip, 2, LoadShareRules.HASH_SEED);
      if (perBucket[bucket] == 3) continue;
      perBucket[bucket]++;
      out.add(
          new Client(
              "c" + (out.size() + 1),
              address,
              mac,
              bucket == 0 ? "fw1" : "fw2")); // bucket 0 = vhid 3
    }
    return out;
  }

  /**
   * Which node answered a TCP connection from the client to the shared address (empty if none did).
   */
  static String servedBy(AgentLab l, Client c) {
    ExecResult r =
        l.lab
            .host(c.name())
            .exec(
                Duration.ofSeconds(6),
                "timeout",
                "3",
                "bash",
                "-c",
                "exec 3<>/dev/tcp/" + VIP + "/" + PORT + " && head -n 1 <&3");
    return r.stdout().strip();
  }

  static void awaitServedBy(AgentLab l, Client c, String expected) {
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> servedBy(l, c), expected::equals);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          c
              + " is not served by "
              + expected
              + " (last answer '"
              + servedBy(l, c)
              + "', neighbours "
              + l.lab.host(c.name()).exec("ip", "neigh").stdout().strip()
              + ")\n"
              + l.logTails(),
          e);
    }
  }

  static void assertNoDuplicates(AgentLab l, Client c) {
    ExecResult ping =
        l.lab
            .host(c.name())
            .exec(Duration.ofSeconds(15), "ping", "-n", "-c", "4", "-i", "0.2", "-W", "2", VIP);
    assertThat(ping.stdout())
        .as(c + ": every echo answered exactly once")
        .contains("4 packets transmitted, 4 received")
        .doesNotContain("DUP!", "duplicates");
  }

  /** The last vhid set each node reported it masters (its "load-share" log line). */
  static Map<String, List<Integer>> masters(AgentLab l, Iterable<String> hosts) {
    Map<String, List<Integer>> out = new LinkedHashMap<>();
    for (String h : hosts) {
      List<Integer> last = List.of();
      for (String line :
          l.agent(h)
              .output()
              .lines()
              .filter(x -> x.contains("\"event\":\"load-share\""))
              .toList()) {
        Matcher m = MASTERS.matcher(line);
        if (m.find())
          last =
              m.group(1).isEmpty()
                  ? List.of()
                  : List.of(m.group(1).split(",")).stream().map(Integer::parseInt).toList();
      }
      out.put(h, last);
    }
    return out;
  }

  static void awaitMasters(AgentLab l, Map<String, List<Integer>> expected, Duration within) {
    try {
      await()
          .atMost(within)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> masters(l, expected.keySet()), expected::equals);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          "expected masters "
              + expected
              + " but got "
              + masters(l, expected.keySet())
              + "\n"
              + l.logTails(),
          e);
    }
  }
}
