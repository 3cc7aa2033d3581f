package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transparent bridging firewall pair of docs/actions.md, with real agents: a client segment
 * (switch a) and a server segment (switch b), both 192.0.2.0/24, joined by fw1 and fw2, each
 * bridging its eth1 (a) and eth2 (b) in br0. The election runs on a management network (the lab's
 * first switch, 198.51.100.0/24, vhid 10 on eth0), and each node's bridge follows its state through
 * the agent's actions. Two forwarding bridges would make a loop.
 *
 * <p>Observed from outside: {@code ip -ts monitor link} in both firewalls records every change of
 * br0 with a microsecond timestamp, so "never both bridges up" is checked over the whole run, not
 * only at sampling points; a ping every 50 ms from client to server must never see a duplicate
 * reply; the packet counters of the firewalls' server-side NICs show which bridge carries the
 * traffic.
 *
 * <p>The crash is emulated honestly: SIGKILL leaves a dead agent's bridge up (nothing is left to
 * take it down), which is exactly the loop risk; a crashed machine forwards nothing, so the test
 * also takes the dead node's bridge and NICs down, as the power loss would. The returning node
 * boots with its bridge down (the OS must not bring it up, see docs/actions.md) and its agent's
 * start-up actions keep it down until the election has decided.
 */
class BridgeFailoverTest {
  private static final Logger log = LoggerFactory.getLogger(BridgeFailoverTest.class);
  static final String CLIENT = "192.0.2.1";
  static final String SERVER = "192.0.2.2";
  static final Duration WAIT = Duration.ofSeconds(30);
  static final Duration PING_INTERVAL = Duration.ofMillis(50);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern BR0_EVENT =
      Pattern.compile("^\\[([0-9T:.-]+)] \\d+: br0: <([^>]*)>");
  private static final Pattern REPLY = Pattern.compile("icmp_seq=(\\d+) .*");

  /**
   * Bridge member ports go down with the bridge: the switches then forget the MACs learnt through
   * this node.
   */
  static String config(String node, int advskew, boolean preempt) {
    return """
        node: %s
        preempt: %s
        logFormat: json
        metricsPort: 9402
        virtualAddresses:
          - vhid: 10
            interface: eth0
            addresses: ["198.51.100.10/24"]
            advbase: 0
            profile: fast
            advskew: %d
            password: "bridge"
        actions:
          onStartup:
            - link: {name: br0, state: down}
            - link: {name: eth1, state: down}
            - link: {name: eth2, state: down}
          onMaster:
            - link: {name: eth1, state: up}
            - link: {name: eth2, state: up}
            - link: {name: br0, state: up}
          onBackup:
            - link: {name: br0, state: down}
            - link: {name: eth1, state: down}
            - link: {name: eth2, state: down}
        """
        .formatted(node, preempt, advskew);
  }

  @ParameterizedTest(name = "preempt {0}")
  @ValueSource(booleans = {true, false})
  void exactlyOneBridgeForwardsThroughCrashAndReturn(boolean preempt) throws Exception {
    try (AgentLab l = new AgentLab()) {
      NetnsLab lab = l.lab;
      lab.addSwitch("a").addSwitch("b");
      NetnsLab.Host client = lab.addHostOn("a", "client", CLIENT + "/24");
      lab.addHostOn("b", "server", SERVER + "/24");
      NetnsLab.Host fw1 = firewall(lab, "fw1", "198.51.100.1/24");
      NetnsLab.Host fw2 = firewall(lab, "fw2", "198.51.100.2/24");
      LabProcess mon1 = startMonitor(fw1);
      LabProcess mon2 = startMonitor(fw2);

      // fw1's bridge was left up (say, by hand): traffic flows through it before any agent runs.
      fw1.exec("ip", "link", "set", "br0", "up").check();
      awaitPing(client);
      LabProcess ping = client.start("ping", "ping", "-i", "0.05", "-W", "1", SERVER);

      // Start-up safety: fw1's agent takes its bridge down before its first advert, then the
      // election decides.
      l.startAgent("fw1", config("fw1", 26, preempt));
      awaitLog(l, "fw1", "\"event\":\"state-change\"");
      String out1 = l.agent("fw1").output();
      int startupAction = out1.indexOf("\"trigger\":\"startup\"");
      assertThat(startupAction).as("start-up actions logged\n" + l.logTails()).isPositive();
      assertThat(startupAction)
          .as("start-up actions before the first state change")
          .isLessThan(out1.indexOf("\"event\":\"state-change\""));
      l.startAgent("fw2", config("fw2", 52, preempt));
      l.awaitReady("fw2", WAIT); // the election is between both: fw2 runs as backup
      awaitForwarding(l, client, fw1, fw2);
      assertOnlyThroughServerSideOf(client, fw1, fw2);

      // The master's machine dies: agent killed, and (as with the power gone) its bridge and NICs
      // stop.
      l.kill("fw1");
      powerOff(fw1);
      awaitForwarding(l, client, fw2, fw1);
      assertOnlyThroughServerSideOf(client, fw2, fw1);
      assertThat(Metrics.scrape(fw2, 9402))
          .containsPattern(
              "carp_actions_total\\{kind=\"link\",result=\"ok\",trigger=\"master\"} 3\\.0");

      // It comes back (bridge down at boot) and its agent starts.
      for (String nic : List.of("eth0", "eth1", "eth2"))
        fw1.exec("ip", "link", "set", nic, "up").check();
      l.restartAgent("fw1");
      if (preempt) {
        awaitForwarding(l, client, fw1, fw2); // fw1 takes back after the handover delay
        assertOnlyThroughServerSideOf(client, fw1, fw2);
        assertThat(l.agent("fw1").output()).contains("\"event\":\"action-handover\"");
      } else {
        l.awaitReady("fw1", WAIT); // the restarted agent runs (its first state change)
        assertThat(l.currentRun("fw1"))
            .as("the restarted fw1 runs as backup\n" + l.logTails())
            .contains("\"to\":\"BACKUP\"")
            .doesNotContain("\"to\":\"MASTER\"");
        await()
            .during(Duration.ofSeconds(3))
            .atMost(Duration.ofSeconds(5))
            .until(() -> bridgeUp(fw2) && !bridgeUp(fw1));
        assertOnlyThroughServerSideOf(client, fw2, fw1);
      }
      awaitMoreReplies(ping, 10); // a few more pings in the final state

      ping.stop(Duration.ofSeconds(3));
      mon1.stop(Duration.ofSeconds(3));
      mon2.stop(Duration.ofSeconds(3));
      String pings = ping.output();
      assertThat(pings)
          .as("duplicate replies: two bridges forwarded at once")
          .doesNotContain("DUP!");
      List<String> overlaps = overlaps(mon1.output(), mon2.output());
      assertThat(overlaps).as("moments with both bridges up").isEmpty();
      log.info(
          "bridge failover (preempt {}): outages seen by a ping every {} ms: {}; bridge timeline: {}",
          preempt,
          PING_INTERVAL.toMillis(),
          gaps(pings),
          timeline(mon1.output(), mon2.output()));
    }
  }

  /**
   * A firewall: eth0 on the management switch, eth1 on a, eth2 on b, both in br0 (created down).
   */
  private static NetnsLab.Host firewall(NetnsLab lab, String name, String mgmt) {
    NetnsLab.Host fw = lab.addHost(name, mgmt);
    fw.addInterface("eth1", "a").addInterface("eth2", "b");
    // no IPv6 noise (router solicitations, MLD) from the bridge and its ports: their counters then
    // count traffic only
    fw.exec("ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
        .check();
    fw.exec(
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.br0.disable_ipv6=1",
            "net.ipv6.conf.eth1.disable_ipv6=1",
            "net.ipv6.conf.eth2.disable_ipv6=1")
        .check();
    fw.exec("ip", "link", "set", "eth1", "master", "br0").check();
    fw.exec("ip", "link", "set", "eth2", "master", "br0").check();
    return fw;
  }

  /**
   * {@code ip -ts monitor link} in the firewall, once it is subscribed: it has reported a probe
   * link added after it started (a veth pair, deleted again), so no later change of br0 goes
   * unseen.
   */
  private static LabProcess startMonitor(NetnsLab.Host fw) {
    LabProcess mon = fw.start("br0-monitor", "ip", "-ts", "monitor", "link");
    try {
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                fw.exec("ip", "link", "del", "probe0"); // absent the first time
                fw.exec("ip", "link", "add", "probe0", "type", "veth", "peer", "name", "probe1")
                    .check();
                return mon.output().contains("probe0") || !mon.isAlive();
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("ip monitor in " + fw.name() + " saw nothing:\n" + mon.output(), e);
    }
    fw.exec("ip", "link", "del", "probe0").check();
    assertThat(mon.isAlive()).as("ip monitor in " + fw.name() + ":\n" + mon.output()).isTrue();
    return mon;
  }

  /** Waits for {@code n} more ping replies than the ping printed so far. */
  private static void awaitMoreReplies(LabProcess ping, int n) {
    long before = replies(ping.output());
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> replies(ping.output()) >= before + n);
  }

  private static long replies(String pingOutput) {
    return pingOutput
        .lines()
        .filter(x -> x.contains(" bytes from ") && REPLY.matcher(x).find())
        .count();
  }

  private static void awaitLog(AgentLab l, String host, String text) {
    try {
      await().atMost(WAIT).until(() -> l.agent(host).output().contains(text));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("no " + text + " from " + host + "\n" + l.logTails(), e);
    }
  }

  private static void powerOff(NetnsLab.Host fw) {
    fw.exec("ip", "link", "set", "br0", "down").check();
    for (String nic : List.of("eth1", "eth2", "eth0"))
      fw.exec("ip", "link", "set", nic, "down").check();
  }

  private static boolean bridgeUp(NetnsLab.Host fw) throws Exception {
    JsonNode j = JSON.readTree(fw.exec("ip", "-j", "link", "show", "dev", "br0").check().stdout());
    for (JsonNode f : j.get(0).path("flags")) if (f.asText().equals("UP")) return true;
    return false;
  }

  private static void awaitPing(NetnsLab.Host client) {
    await().atMost(WAIT).until(() -> client.exec("ping", "-c", "1", "-W", "1", SERVER).ok());
  }

  private static void awaitForwarding(
      AgentLab l, NetnsLab.Host client, NetnsLab.Host forwarding, NetnsLab.Host other) {
    try {
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> bridgeUp(forwarding) && !bridgeUp(other));
      awaitPing(client);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          "expected only " + forwarding.name() + " to forward\n" + l.logTails(), e);
    }
  }

  private static long txPackets(NetnsLab.Host fw, String nic) throws Exception {
    JsonNode j =
        JSON.readTree(fw.exec("ip", "-s", "-j", "link", "show", "dev", nic).check().stdout());
    return j.get(0).path("stats64").path("tx").path("packets").asLong();
  }

  /**
   * A burst of 20 pings: the forwarding bridge sends them all out to the server, the other none.
   */
  private static void assertOnlyThroughServerSideOf(
      NetnsLab.Host client, NetnsLab.Host forwarding, NetnsLab.Host other) throws Exception {
    long f0 = txPackets(forwarding, "eth2");
    long o0 = txPackets(other, "eth2");
    client.exec("ping", "-c", "20", "-i", "0.02", "-W", "1", SERVER).check();
    assertThat(txPackets(forwarding, "eth2") - f0)
        .as("frames " + forwarding.name() + " sent to the server side")
        .isGreaterThanOrEqualTo(20);
    assertThat(txPackets(other, "eth2") - o0)
        .as("frames " + other.name() + " sent to the server side")
        .isZero();
  }

  /** Moments at which both monitors last saw br0 with the UP flag. */
  static List<String> overlaps(String monitor1, String monitor2) {
    record Event(LocalDateTime at, int host, boolean up) {}
    List<Event> events = new ArrayList<>();
    for (int h = 0; h < 2; h++) {
      for (String line : (h == 0 ? monitor1 : monitor2).lines().toList()) {
        Matcher m = BR0_EVENT.matcher(line);
        if (m.find())
          events.add(
              new Event(
                  LocalDateTime.parse(m.group(1)),
                  h,
                  List.of(m.group(2).split(",")).contains("UP")));
      }
    }
    events.sort(Comparator.comparing(Event::at));
    boolean[] up = new boolean[2];
    List<String> overlaps = new ArrayList<>();
    for (Event e : events) {
      up[e.host()] = e.up();
      if (up[0] && up[1]) overlaps.add("both up at " + e.at());
    }
    return overlaps;
  }

  /** br0 up/down changes of both firewalls, in ms since the first one. */
  static List<String> timeline(String monitor1, String monitor2) {
    record Change(LocalDateTime at, String fw, boolean up) {}
    List<Change> changes = new ArrayList<>();
    for (int h = 0; h < 2; h++) {
      Boolean last = false;
      for (String line : (h == 0 ? monitor1 : monitor2).lines().toList()) {
        Matcher m = BR0_EVENT.matcher(line);
        if (!m.find()) continue;
        boolean up = List.of(m.group(2).split(",")).contains("UP");
        if (up != last)
          changes.add(new Change(LocalDateTime.parse(m.group(1)), "fw" + (h + 1), up));
        last = up;
      }
    }
    changes.sort(Comparator.comparing(Change::at));
    List<String> out = new ArrayList<>();
    for (Change c : changes) {
      out.add(
          Duration.between(changes.getFirst().at(), c.at()).toMillis()
              + " ms "
              + c.fw()
              + (c.up() ? " up" : " down"));
    }
    return out;
  }

  /** Runs of missing replies after the first one, as "N ms" each (N = missing × interval). */
  static List<String> gaps(String pingOutput) {
    TreeSet<Integer> seqs = new TreeSet<>();
    for (String line : pingOutput.lines().toList()) {
      Matcher m = REPLY.matcher(line);
      if (m.find()) seqs.add(Integer.parseInt(m.group(1)));
    }
    List<String> gaps = new ArrayList<>();
    Integer prev = null;
    for (int s : seqs) {
      if (prev != null && s - prev > 1) gaps.add((s - prev - 1) * PING_INTERVAL.toMillis() + " ms");
      prev = s;
    }
    return gaps;
  }
}
