package dev.carpoperator.bench.torture;

import dev.carpoperator.agent.AgentMain;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import dev.carpoperator.testing.netns.RoutedFirewalls;
import dev.carpoperator.testing.netns.StatefulFirewall;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The torture lab: four routing firewalls with real agents between a client and a server network,
 * the network of {@link RoutedFirewalls} in its default layout ({@link #SPEC}).
 *
 * <pre>
 *   client 198.51.100.10 ── lan ── fw1..fw4 eth0 198.51.100.2-5, VIP 198.51.100.1 (vhid 1)
 *   server 203.0.113.10  ── wan ── fw1..fw4 eth1 203.0.113.2-5,  VIP 203.0.113.1  (vhid 2)
 *                           sync ── fw1..fw4 sync0 192.0.2.1-4: state sync to the multicast group 224.0.0.240
 * </pre>
 *
 * Every firewall runs {@link StatefulFirewall}'s ruleset (forward policy drop, loose pickup off),
 * so a firewall that does not know a connection drops its packets: a session survives a failover
 * only if the state sync gave the new master its state. Both vhids have the same advskew per node
 * (fw1 0, fw2 50, fw3 100, fw4 150) and preempt is on, so the best healthy node holds both VIPs
 * (traffic in through one node and out through another would be dropped: the second has no state
 * for the first's half-open connection). Node-wide demotion (link down, start-up, sync pending)
 * keeps the two vhids together. Each agent keeps its address record in the lab directory ({@code
 * <node>-run}), across its restarts: the agents share the machine's /run.
 */
public final class TortureLab implements AutoCloseable {
  /** The network: fw1 to fw4 in {@link RoutedFirewalls}' default layout (no source NAT). */
  public static final RoutedFirewalls.Spec SPEC =
      RoutedFirewalls.Spec.of("fw1", "fw2", "fw3", "fw4");

  public static final String LAN_IF = RoutedFirewalls.LAN_IF;
  public static final String WAN_IF = RoutedFirewalls.OUTSIDE_IF;
  public static final String SYNC_IF = SPEC.syncIf();
  public static final String CLIENT = SPEC.clientAddress();
  public static final String SERVER = SPEC.serverAddress();
  public static final String LAN_VIP = SPEC.lanVip();
  public static final String WAN_VIP = SPEC.outsideVip();
  public static final List<String> VIPS = SPEC.vips();
  public static final int PORT = RoutedFirewalls.DEFAULT_PORT;
  public static final List<String> NODES = SPEC.firewalls();

  private final RoutedFirewalls net;
  private final NetnsLab lab;
  private final boolean sourceNat;
  private final Map<String, LabProcess> agents = new LinkedHashMap<>();

  /**
   * Per node: the agent log's length when the current agent was started, and whether it has started
   * its vhosts since.
   */
  private final Map<String, Long> logOffsetAtStart = new LinkedHashMap<>();

  private final Set<String> electing = new LinkedHashSet<>();

  /** Nodes whose agent is stopped with SIGSTOP ({@link #freezeAgent}). */
  private final Set<String> frozen = new LinkedHashSet<>();

  /** Per node: the NICs {@link #cutLink} took down (a single link, not the whole node). */
  private final Map<String, Set<String>> cutNics = new LinkedHashMap<>();

  /** The nftables table of {@link #impairSync}'s packet loss. */
  static final String CHAOS_TABLE = "torture_chaos";

  private TortureLab(boolean sourceNat) {
    this.sourceNat = sourceNat;
    net = RoutedFirewalls.create(SPEC.withSourceNat(sourceNat));
    lab = net.lab();
    try {
      net.writeSyncKey();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** Builds the networks and the four firewalls (rules loaded, no agent running yet). */
  public static TortureLab create(boolean sourceNat) {
    return new TortureLab(sourceNat);
  }

  public boolean sourceNat() {
    return sourceNat;
  }

  public Path dir() {
    return lab.dir();
  }

  /**
   * fw1 0, fw2 50, fw3 100, fw4 150: with preempt the healthy node with the lowest advskew holds
   * the VIPs.
   */
  public static int advskew(String node) {
    return NODES.indexOf(node) * 50;
  }

  /**
   * Both vhids with the node's advskew, preempt, authenticated sync; the record under {@code dir}.
   */
  static String agentConfig(String node, Path dir) {
    return SPEC.agentConfig(node, advskew(node), true, "torture")
        + SPEC.syncConfig(RoutedFirewalls.SYNC_KEY_FILE)
        + "runtimeDirectory: "
        + runtimeDirectory(dir, node)
        + "\n";
  }

  /** Where the node's agent records the addresses it added, kept across its restarts. */
  static Path runtimeDirectory(Path dir, String node) {
    return dir.resolve(node + "-run");
  }

  // ---- agents
  // ---------------------------------------------------------------------------------------------

  /**
   * Starts (or restarts) the node's agent; its output is appended to {@code <node>-agent.log}
   * across restarts.
   */
  public synchronized LabProcess startAgent(String node) {
    LabProcess old = agents.get(node);
    if (old != null && old.isAlive())
      throw new IllegalStateException("the agent on " + node + " is running");
    try {
      Path file = lab.dir().resolve(node + "-agent.yaml");
      Path log = lab.dir().resolve(node + "-agent.log");
      logOffsetAtStart.put(node, Files.exists(log) ? Files.size(log) : 0L);
      electing.remove(node);
      Files.writeString(file, agentConfig(node, lab.dir()));
      // a small heap: seven JVMs share the machine
      LabProcess p =
          fw(node)
              .startJava(
                  "agent",
                  AgentMain.class.getName(),
                  List.of("-Xmx128m", "-XX:+UseSerialGC"),
                  "--config",
                  file.toString());
      agents.put(node, p);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The agent runs and has started its vhosts (logged its first state change): before that,
   * addresses on its NICs are the strays of a killed predecessor, which the starting agent removes
   * first.
   */
  public boolean agentElecting(String node) {
    long offset;
    Path log;
    synchronized (this) {
      if (!agentAlive(node) || frozen.contains(node)) return false;
      if (electing.contains(node)) return true;
      offset = logOffsetAtStart.getOrDefault(node, 0L);
      log = agents.get(node).log();
    }
    try (var f = new java.io.RandomAccessFile(log.toFile(), "r")) {
      if (f.length() <= offset) return false;
      f.seek(offset);
      byte[] b = new byte[(int) Math.min(f.length() - offset, 4 * 1024 * 1024)];
      f.readFully(b);
      if (!new String(b, StandardCharsets.UTF_8).contains("\"event\":\"state-change\""))
        return false;
    } catch (IOException e) {
      return false;
    }
    synchronized (this) {
      if (agentAlive(node)) electing.add(node);
    }
    return true;
  }

  /** Milliseconds since the node's agent process started (-1 when it is not running). */
  public synchronized long agentUptimeMillis(String node) {
    LabProcess p = agents.get(node);
    if (p == null || !p.isAlive()) return -1;
    return p.process()
        .info()
        .startInstant()
        .map(i -> System.currentTimeMillis() - i.toEpochMilli())
        .orElse(-1L);
  }

  /** The pid of the node's agent JVM while it exists (frozen or not). */
  public synchronized java.util.OptionalLong agentPid(String node) {
    LabProcess p = agents.get(node);
    return p != null && p.isAlive()
        ? java.util.OptionalLong.of(p.pid())
        : java.util.OptionalLong.empty();
  }

  public synchronized boolean agentAlive(String node) {
    LabProcess p = agents.get(node);
    return p != null && p.isAlive();
  }

  /** The agent process exists and is not frozen ({@link #freezeAgent}). */
  public synchronized boolean agentRunning(String node) {
    return agentAlive(node) && !frozen.contains(node);
  }

  /**
   * SIGSTOP: the agent process is frozen, not dead: no adverts, no timers, no sync; its addresses
   * stay on its NICs and the kernel keeps forwarding with its conntrack table.
   */
  public void freezeAgent(String node) {
    LabProcess p = agent(node);
    synchronized (this) {
      frozen.add(node);
    }
    p.signal("STOP");
  }

  /** SIGCONT: the frozen agent resumes where it stopped (with timers long overdue). */
  public void thawAgent(String node) {
    LabProcess p = agent(node);
    p.signal("CONT");
    synchronized (this) {
      frozen.remove(node);
    }
  }

  public synchronized boolean agentFrozen(String node) {
    return frozen.contains(node);
  }

  /**
   * SIGKILL: the agent has no chance to bow out; its addresses stay on the NICs until it starts
   * again.
   */
  public void killAgent(String node) {
    LabProcess p = agent(node);
    p.process().destroyForcibly();
    waitExit(p, Duration.ofSeconds(10));
  }

  /** SIGTERM: a planned stop; the agent bows out (advskew 255) and releases its addresses. */
  public void stopAgent(String node) {
    agent(node).stop(Duration.ofSeconds(15));
  }

  private synchronized LabProcess agent(String node) {
    LabProcess p = agents.get(node);
    if (p == null) throw new IllegalStateException("no agent on " + node);
    return p;
  }

  private static void waitExit(LabProcess p, Duration within) {
    try {
      p.process().waitFor(within.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The agent's whole log (every run of it). */
  public String agentLog(String node) {
    LabProcess p;
    synchronized (this) {
      p = agents.get(node);
    }
    return p == null ? "" : p.output();
  }

  // ---- links
  // ----------------------------------------------------------------------------------------------

  /**
   * Takes every link of the node down at both ends (lan, wan, sync): the node is cut off, its agent
   * keeps running.
   */
  public void cutLinks(String node) {
    net.cutLinks(node, NetnsLab.Side.BOTH);
  }

  public void restoreLinks(String node) {
    net.restoreLinks(node, NetnsLab.Side.BOTH);
  }

  /** No link of the node is cut: neither all ({@link #cutLinks}) nor one ({@link #cutLink}). */
  public synchronized boolean linksUp(String node) {
    return !net.linksCut(node) && cutNics.getOrDefault(node, Set.of()).isEmpty();
  }

  /**
   * Takes one NIC of the node down at both ends ({@link #LAN_IF}, {@link #WAN_IF} or {@link
   * #SYNC_IF}); the others stay up and the agent keeps running.
   */
  public void cutLink(String node, String nic) {
    synchronized (this) {
      cutNics.computeIfAbsent(node, k -> new LinkedHashSet<>()).add(nic);
    }
    fw(node).cut(nic, NetnsLab.Side.BOTH);
  }

  public void restoreLink(String node, String nic) {
    fw(node).restore(nic, NetnsLab.Side.BOTH);
    synchronized (this) {
      cutNics.getOrDefault(node, new LinkedHashSet<>()).remove(nic);
    }
  }

  private synchronized String cutNicsOf(String node) {
    Set<String> nics = cutNics.getOrDefault(node, Set.of());
    return nics.isEmpty() ? ", " : ", " + nics + " cut, ";
  }

  /** The node's NIC is up: no cut of all its links, and not this one alone. */
  public synchronized boolean nicUp(String node, String nic) {
    return !net.linksCut(node) && !cutNics.getOrDefault(node, Set.of()).contains(nic);
  }

  /** The NIC a VIP lives on ({@link #LAN_IF} or {@link #WAN_IF}). */
  public static String nicOf(String vip) {
    return SPEC.nicOf(vip);
  }

  /**
   * Loss and delay on the node's sync link: {@code tc qdisc netem} (loss 20%, delay 50 ms ± 20 ms)
   * on what the node sends when the kernel has it, and 20% loss of what it receives with an
   * nftables {@code numgen random} rule; without sch_netem (some kernels leave it out) loss only,
   * by nftables in both directions. Returns what it did.
   */
  public String impairSync(String node) {
    NetnsLab.Host h = fw(node);
    boolean netem =
        h.exec(
                    "tc", "qdisc", "add", "dev", SYNC_IF, "root", "netem", "loss", "20%", "delay",
                    "50ms", "20ms")
                .exitCode()
            == 0;
    String rules =
        "table inet "
            + CHAOS_TABLE
            + " {\n"
            + "  chain input { type filter hook input priority -10; iifname \""
            + SYNC_IF
            + "\" numgen random mod 100 < 20 drop; }\n"
            + (netem
                ? ""
                : "  chain output { type filter hook output priority -10; oifname \""
                    + SYNC_IF
                    + "\" numgen random mod 100 < 20 drop; }\n")
            + "}\n";
    try {
      Path file = lab.dir().resolve(node + "-chaos.nft");
      Files.writeString(file, rules);
      h.exec("nft", "-f", file.toString()).check();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return netem
        ? "netem loss 20% delay 50ms±20ms out, 20% loss in"
        : "20% loss each way (no sch_netem: no delay)";
  }

  /** Removes {@link #impairSync}'s qdisc and nftables table. */
  public void unimpairSync(String node) {
    NetnsLab.Host h = fw(node);
    h.exec("tc", "qdisc", "del", "dev", SYNC_IF, "root"); // fails when there is none
    h.exec("nft", "delete", "table", "inet", CHAOS_TABLE).check();
  }

  /**
   * What a reboot loses: the VIPs leave the node's NICs (a crashed agent left them there) and its
   * connection table is emptied.
   */
  public void wipe(String node) {
    net.wipe(node);
  }

  /** A reboot loses the kernel's connection table: the node comes back with an empty one. */
  public void flushConntrack(String node) {
    net.flushConntrack(node);
  }

  // ---- observation
  // ----------------------------------------------------------------------------------------

  /**
   * The VIPs configured on each node's NICs right now (what an operator would see with ip addr).
   */
  public Map<String, Set<String>> vipsByNode() {
    Map<String, Set<String>> out = new LinkedHashMap<>();
    for (String n : NODES) out.put(n, new LinkedHashSet<>(net.vipsOn(n)));
    return out;
  }

  /** The named nftables counters of a node. */
  public Map<String, Long> counters(String node) {
    return net.counters(node);
  }

  /** The node's conntrack entries of connections to the server, by client port. */
  public Map<Integer, StatefulFirewall.CtEntry> conntrack(String node) {
    return net.conntrack(node);
  }

  /**
   * Per node: agent running, links, VIPs, counters, conntrack states; the last lines of each agent
   * log.
   */
  public String diagnostics(int logLines) {
    StringBuilder sb = new StringBuilder();
    for (String n : NODES) {
      sb.append(n)
          .append(": agent ")
          .append(agentAlive(n) ? (agentFrozen(n) ? "frozen (SIGSTOP)" : "running") : "down")
          .append(linksUp(n) ? ", links up, " : cutNicsOf(n))
          .append(net.describe(n))
          .append('\n');
    }
    if (logLines > 0) {
      for (String n : NODES) {
        List<String> lines = agentLog(n).lines().toList();
        sb.append("--- agent log ").append(n).append('\n');
        lines
            .subList(Math.max(0, lines.size() - logLines), lines.size())
            .forEach(l -> sb.append(l).append('\n'));
      }
    }
    return sb.toString();
  }

  // ---- traffic
  // --------------------------------------------------------------------------------------------

  public LabProcess startServer() {
    return net.server()
        .startJava(
            "streams-server",
            TcpStreamsMain.class.getName(),
            List.of("-Xmx128m", "-XX:+UseSerialGC"),
            "server",
            String.valueOf(PORT));
  }

  /**
   * {@code connections} byte-checked echo streams, 1 KB every 50 ms each, until stopped; output in
   * {@code client-<label>.log}.
   */
  public LabProcess startClient(String label, int connections) {
    return net.client()
        .startJava(
            label,
            TcpStreamsMain.class.getName(),
            List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
            "client",
            SERVER,
            String.valueOf(PORT),
            String.valueOf(connections),
            "1024",
            "50",
            "0");
  }

  NetnsLab.Host fw(String node) {
    return net.firewall(node);
  }

  /** Nodes, in order. */
  public List<String> nodes() {
    return new ArrayList<>(NODES);
  }

  @Override
  public void close() {
    net.close();
  }
}
