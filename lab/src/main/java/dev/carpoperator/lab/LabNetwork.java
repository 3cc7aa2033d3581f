package dev.carpoperator.lab;

import dev.carpoperator.testing.netns.NetnsLab;
import dev.carpoperator.testing.netns.StatefulFirewall;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The lab's machines, each a network namespace: three firewall nodes between a client network and a
 * server network, with the interfaces and subnets of the active/standby example (Mickey and Minnie,
 * {@code examples/active-standby}):
 *
 * <pre>
 *   client 192.0.2.10 ───── lan (eth0) ─── mickey .2   minnie .3   goofy .4    VIP 192.0.2.1    (mickey-minnie-lan)
 *   server 198.51.100.10 ── dmz (eth1) ─── mickey .2   minnie .3   goofy .4    VIP 198.51.100.1 (mickey-minnie-dmz)
 *                           sync (eth2) ── 203.0.113.2/.3/.4: pfsync between the nodes (FirewallCluster spec.sync)
 * </pre>
 *
 * The client's default route is the lan VIP, the server's the dmz VIP. Every node routes with the
 * same stateful nftables rules ({@link StatefulFirewall}: only known connections pass, {@code
 * nf_conntrack_tcp_loose=0}), so a node that takes over forwards an existing connection only if the
 * state sync gave it the connection's state.
 */
final class LabNetwork implements AutoCloseable {
  static final List<String> NODES = List.of("mickey", "minnie", "goofy");
  static final String LAN_IF = "eth0";
  static final String DMZ_IF = "eth1";
  static final String SYNC_IF = "eth2";
  static final String CLIENT = "192.0.2.10";
  static final String SERVER = "198.51.100.10";
  static final String LAN_VIP = "192.0.2.1";
  static final String LAN_VIP6 = "2001:db8:1::1";
  static final String DMZ_VIP = "198.51.100.1";
  static final int PORT = 5001;

  final NetnsLab lab;

  /** Nodes powered off: their NICs keep whatever addresses they had, but their links are cut. */
  private final java.util.Set<String> off = java.util.concurrent.ConcurrentHashMap.newKeySet();

  final NetnsLab.Host client;
  final NetnsLab.Host server;

  private LabNetwork(NetnsLab lab) {
    this.lab = lab;
    try {
      lab.addSwitch("dmz").addSwitch("sync");
      client = lab.addHost("client", CLIENT + "/24");
      server = lab.addHostOn("dmz", "server", SERVER + "/24");
      client.exec("ip", "route", "add", "default", "via", LAN_VIP).check();
      server.exec("ip", "route", "add", "default", "via", DMZ_VIP).check();
      String rules = StatefulFirewall.ruleset(LAN_IF, DMZ_IF, null, null);
      for (int i = 0; i < NODES.size(); i++) {
        int octet = 2 + i;
        NetnsLab.Host node = lab.addHost(NODES.get(i), "192.0.2." + octet + "/24");
        node.addInterface(DMZ_IF, "dmz", "198.51.100." + octet + "/24");
        node.addInterface(SYNC_IF, "sync", "203.0.113." + octet + "/24");
        StatefulFirewall.install(node, lab.dir(), rules);
      }
    } catch (RuntimeException e) {
      lab.close();
      throw e;
    }
  }

  /** Creates the namespaces, links, addresses, routes and firewall rules. */
  static LabNetwork create() {
    return new LabNetwork(NetnsLab.create());
  }

  NetnsLab.Host node(String name) {
    return lab.host(name);
  }

  /**
   * The node loses power (its processes are killed separately): every link goes down at both ends.
   */
  void powerOff(String name) {
    off.add(name);
    NetnsLab.Host h = node(name);
    h.cutAll(NetnsLab.Side.BOTH);
  }

  /**
   * The node boots again: as after a reboot, no virtual address on its NICs and an empty connection
   * table, then its links come up. (Its agent starts afterwards, as the DaemonSet's pod would.)
   */
  void powerOn(String name) {
    NetnsLab.Host h = node(name);
    h.exec("ip", "addr", "del", LAN_VIP + "/24", "dev", LAN_IF);
    h.exec("ip", "addr", "del", LAN_VIP6 + "/64", "dev", LAN_IF);
    h.exec("ip", "addr", "del", DMZ_VIP + "/24", "dev", DMZ_IF);
    h.exec("conntrack", "-F");
    h.restoreAll(NetnsLab.Side.BOTH);
    off.remove(name);
  }

  boolean isOff(String name) {
    return off.contains(name);
  }

  /** Nodes, powered on, whose NIC holds {@code vip} right now. */
  List<String> holders(String vip) {
    String nic = vip.equals(DMZ_VIP) ? DMZ_IF : LAN_IF;
    List<String> out = new ArrayList<>();
    for (String n : NODES) {
      if (!off.contains(n)
          && node(n)
              .exec("ip", "-o", "addr", "show", "dev", nic)
              .stdout()
              .contains(" " + vip + "/")) out.add(n);
    }
    return out;
  }

  /**
   * Whether the node's conntrack table has the client's connection from {@code clientPort} to the
   * server.
   */
  boolean tracks(String node, int clientPort) {
    return StatefulFirewall.conntrack(node(node), SERVER, PORT).containsKey(clientPort);
  }

  /** The conntrack line of the session on {@code node}, shortened for display, or "(none)". */
  String conntrackLine(String node, int clientPort) {
    var e = StatefulFirewall.conntrack(node(node), SERVER, PORT).get(clientPort);
    return e == null
        ? "(none)"
        : "tcp " + e.state() + " src=" + e.src() + " dst=" + SERVER + " sport=" + e.sport()
            + " dport=" + PORT;
  }

  /** The node's nftables counters (packets): fwd_established, drop_invalid, ... */
  Map<String, Long> counters(String node) {
    return StatefulFirewall.counters(node(node));
  }

  @Override
  public void close() {
    lab.close();
  }
}
