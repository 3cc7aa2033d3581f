package dev.carpoperator.agent.lab;

import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import dev.carpoperator.testing.netns.RoutedFirewalls;
import dev.carpoperator.testing.netns.StatefulFirewall;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Two routing firewalls with CARP gateways between a client and a server network, stateful nftables
 * on both, real agents (separate JVMs, {@link AgentLab}); the network is {@link RoutedFirewalls}
 * with its default layout ({@link #SPEC}):
 *
 * <pre>
 *   client 198.51.100.10 ── lan (the lab's first switch) ── fw1 eth0 .2 / fw2 eth0 .3, VIP 198.51.100.1 (vhid 1)
 *   server 203.0.113.10  ── wan ─────────────────────────── fw1 eth1 .2 / fw2 eth1 .3, VIP 203.0.113.1 (vhid 2)
 *                            sync ────────────────────────── fw1 sync0 192.0.2.1 / fw2 sync0 192.0.2.2
 * </pre>
 *
 * The client's default route is the lan VIP, the server's the wan VIP. Both firewalls get the same
 * ruleset ({@link StatefulFirewall}): forward policy drop, established/related accepted, new
 * connections only from the lan side and only with a pure SYN, {@code nf_conntrack_tcp_loose=0} so
 * a mid-stream packet of a connection the firewall does not know is INVALID and dropped. Named
 * counters tell what was forwarded and dropped ({@link #counters}). With {@code sourceNat} lan →
 * wan traffic leaves as the wan VIP (snat, not masquerade: masquerade would pick each firewall's
 * own address and the state could not move), so the server replies to the VIP; without it the
 * server routes the replies via the VIP.
 *
 * <p>Both vhids must be held by the same firewall (traffic in through one and out through the other
 * would be dropped as unknown). The agent keeps them together: the demotion is node-wide (link down
 * or start-up demotes every vhid) and with preempt the node with the lower advskew takes every
 * vhid. {@link #awaitMaster} checks both.
 */
public final class FirewallPairLab implements AutoCloseable {
  /** The network: fw1 and fw2 in {@link RoutedFirewalls}' default layout (no source NAT). */
  public static final RoutedFirewalls.Spec SPEC = RoutedFirewalls.Spec.of("fw1", "fw2");

  public static final String LAN_IF = RoutedFirewalls.LAN_IF;
  public static final String WAN_IF = RoutedFirewalls.OUTSIDE_IF;
  public static final String SYNC_IF = SPEC.syncIf();
  public static final String CLIENT = SPEC.clientAddress();
  public static final String SERVER = SPEC.serverAddress();
  public static final String LAN_VIP = SPEC.lanVip();
  public static final String WAN_VIP = SPEC.outsideVip();
  public static final int PORT = RoutedFirewalls.DEFAULT_PORT;
  public static final List<String> FIREWALLS = SPEC.firewalls();

  public final AgentLab agents = new AgentLab();
  public final NetnsLab lab = agents.lab;
  public final RoutedFirewalls net;
  public final boolean sourceNat;
  private final List<LabProcess> streams = new ArrayList<>();

  private FirewallPairLab(boolean sourceNat) {
    this.sourceNat = sourceNat;
    net = RoutedFirewalls.in(lab, SPEC.withSourceNat(sourceNat)); // closes the lab if it fails
  }

  /** Builds the networks and both firewalls (rules loaded, no agent running yet). */
  public static FirewallPairLab create(boolean sourceNat) {
    return new FirewallPairLab(sourceNat);
  }

  public NetnsLab.Host client() {
    return net.client();
  }

  public NetnsLab.Host server() {
    return net.server();
  }

  public NetnsLab.Host fw(String name) {
    return net.firewall(name);
  }

  // ---- agents
  // ---------------------------------------------------------------------------------------------

  /** Both vhids, advbase 1, the same password; without {@code sync:} (see {@link #withSync}). */
  public static String agentConfig(String node, int advskew, boolean preempt) {
    return SPEC.agentConfig(node, advskew, preempt, "fwpair");
  }

  /**
   * The config with a {@code sync:} section on the sync link, key file {@code sync.key} beside the
   * configs.
   */
  public String withSync(String config) {
    writeSyncKey();
    return config + SPEC.syncConfig(RoutedFirewalls.SYNC_KEY_FILE);
  }

  /**
   * {@code sync.key} in the lab directory (where {@link AgentLab#startAgent} writes the configs).
   */
  public Path writeSyncKey() {
    return net.writeSyncKey();
  }

  public LabProcess startAgent(String fw, String config) {
    return startAgent(fw, config, List.of());
  }

  public LabProcess startAgent(String fw, String config, List<String> jvmArgs) {
    fw(fw);
    return agents.startAgent(fw, config, jvmArgs);
  }

  /** The VIPs (lan, wan) on this firewall's interfaces. */
  public List<String> vipsOn(String fw) {
    return net.vipsOn(fw);
  }

  /**
   * Waits until {@code fw} holds both VIPs and every other firewall that is still connected ({@code
   * dead} excluded: a crashed firewall keeps its addresses on cut links) holds none.
   */
  public void awaitMaster(String fw, Duration within, String... dead) {
    List<String> others =
        FIREWALLS.stream().filter(f -> !f.equals(fw) && !List.of(dead).contains(f)).toList();
    try {
      await()
          .atMost(within)
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                for (String f : FIREWALLS) {
                  LabProcess agent = agents.agent(f);
                  if (!List.of(dead).contains(f) && agent != null && !agent.isAlive()) {
                    throw new AssertionError(
                        "the agent on "
                            + f
                            + " exited while waiting for "
                            + fw
                            + " to become master\n"
                            + diagnostics());
                  }
                }
                return vipsOn(fw).size() == 2 && others.stream().allMatch(o -> vipsOn(o).isEmpty());
              });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          "expected " + fw + " to hold both VIPs and " + others + " none\n" + diagnostics(), e);
    }
  }

  /**
   * The firewall dies: its agent is killed (SIGKILL, no bow-out) and every link cut at both ends,
   * as if its power went. Its addresses and conntrack stay on the dead box.
   */
  public void crash(String fw) {
    fw(fw);
    agents.kill(fw);
    net.cutLinks(fw, NetnsLab.Side.BOTH);
  }

  /**
   * Cuts every link of the firewall on the switch side (its NICs lose carrier, its agent keeps
   * running), as a pulled cable or a dead switch port; {@link #restoreLinks} plugs them back.
   */
  public void cutLinks(String fw) {
    net.cutLinks(fw, NetnsLab.Side.SWITCH);
  }

  public void restoreLinks(String fw) {
    net.restoreLinks(fw, NetnsLab.Side.SWITCH);
  }

  // ---- traffic
  // --------------------------------------------------------------------------------------------

  /** Starts the echo server on {@value #PORT} and waits until it listens. */
  public LabProcess startServer() {
    LabProcess p =
        server().startJava("streams-server", TcpStreamsMain.class, "server", String.valueOf(PORT));
    streams.add(p);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> p.output().contains("\"type\":\"listening\"") || !p.isAlive());
    if (!p.isAlive()) throw new AssertionError("streams server exited:\n" + p.output());
    return p;
  }

  /**
   * Starts a client with {@code connections} streams of 1 KB every 50 ms each ({@code seconds} 0:
   * until stopped).
   */
  public LabProcess startClient(String label, int connections, int seconds) {
    return startClient(label, connections, seconds, 1024, 50);
  }

  /** A client whose streams write {@code chunkBytes} every {@code intervalMillis} each. */
  public LabProcess startClient(
      String label, int connections, int seconds, int chunkBytes, int intervalMillis) {
    LabProcess p =
        client()
            .startJava(
                label,
                TcpStreamsMain.class,
                "client",
                SERVER,
                String.valueOf(PORT),
                String.valueOf(connections),
                String.valueOf(chunkBytes),
                String.valueOf(intervalMillis),
                String.valueOf(seconds));
    streams.add(p);
    return p;
  }

  /** The client's progress and summary lines so far. */
  public static List<TcpStreamsMain.Progress> progress(LabProcess client) {
    return TcpStreamsMain.Progress.parse(client.output());
  }

  /** The latest line, or null. */
  public static TcpStreamsMain.Progress latest(LabProcess client) {
    List<TcpStreamsMain.Progress> all = progress(client);
    return all.isEmpty() ? null : all.getLast();
  }

  /** Waits for a line printed after {@code epochMillis}. */
  public TcpStreamsMain.Progress awaitProgressAfter(LabProcess client, long epochMillis) {
    try {
      return await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> latest(client), p -> p != null && p.at() > epochMillis);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          "no progress line from the client after "
              + epochMillis
              + "\n"
              + tail(client, 20)
              + diagnostics(),
          e);
    }
  }

  /**
   * Waits until every connection of the client has verified more than {@code bytes} since {@code
   * since} (null: since the start) without an error. Fails at once when a connection reports an
   * error.
   */
  public TcpStreamsMain.Progress awaitAllProgress(
      LabProcess client,
      TcpStreamsMain.Progress since,
      long bytes,
      int connections,
      Duration within,
      String what) {
    try {
      return await()
          .atMost(within)
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> latest(client),
              p -> {
                if (p == null || p.connections() != connections) return false;
                if (!p.failed().isEmpty())
                  throw new AssertionError(
                      what + ": connections failed: " + p.describe() + "\n" + diagnostics());
                for (int i = 0; i < connections; i++)
                  if (p.verified()[i] - (since == null ? 0 : since.verified()[i]) <= bytes)
                    return false;
                return true;
              });
    } catch (ConditionTimeoutException e) {
      TcpStreamsMain.Progress p = latest(client);
      throw new AssertionError(
          what
              + ": not every connection verified "
              + bytes
              + " more bytes within "
              + within
              + "\nbefore: "
              + (since == null ? "-" : since.describe())
              + "\nnow: "
              + (p == null ? "no progress line\n" + tail(client, 20) : p.describe())
              + "\n"
              + diagnostics(),
          e);
    }
  }

  /** Stops the client (SIGTERM: it drains and prints its summary) and returns the summary line. */
  public TcpStreamsMain.Progress stopClient(LabProcess client) {
    client.stop(Duration.ofMillis(TcpStreamsMain.DRAIN_MILLIS + 5000));
    TcpStreamsMain.Progress last = latest(client);
    if (last == null || !last.type().equals("summary"))
      throw new AssertionError("no summary from the client\n" + tail(client, 20));
    return last;
  }

  // ---- firewall state
  // -------------------------------------------------------------------------------------

  /** The named counters of a firewall's table: name → packets. */
  public Map<String, Long> counters(String fw) {
    return net.counters(fw);
  }

  /** Packets counted by a named counter. */
  public long counter(String fw, String name) {
    return net.counter(fw, name);
  }

  /**
   * The firewall's conntrack entries of connections to the server's {@value #PORT}, by client port.
   */
  public Map<Integer, StatefulFirewall.CtEntry> conntrack(String fw) {
    return net.conntrack(fw);
  }

  /** Client ports of {@code p} that are not in the firewall's conntrack table. */
  public List<Integer> missingFromConntrack(String fw, TcpStreamsMain.Progress p) {
    Map<Integer, StatefulFirewall.CtEntry> ct = conntrack(fw);
    List<Integer> missing = new ArrayList<>();
    for (int port : p.ports()) if (!ct.containsKey(port)) missing.add(port);
    return missing;
  }

  /**
   * Counters and conntrack summaries of both firewalls, VIP holders, agent log tails, server
   * errors.
   */
  public String diagnostics() {
    StringBuilder sb = new StringBuilder(net.diagnostics());
    for (LabProcess p : streams) {
      List<String> errors =
          p.output()
              .lines()
              .filter(l -> l.contains("server-error") || l.contains("Exception"))
              .toList();
      if (!errors.isEmpty())
        sb.append("--- ")
            .append(p.label())
            .append(" errors: ")
            .append(errors.subList(0, Math.min(10, errors.size())))
            .append('\n');
    }
    return sb.append(agents.logTails()).toString();
  }

  static String tail(LabProcess p, int lines) {
    List<String> all = p.output().lines().toList();
    return "--- "
        + p.label()
        + (p.isAlive() ? "" : " (exited)")
        + "\n"
        + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()))
        + "\n";
  }

  @Override
  public void close() {
    agents.close();
  }
}
