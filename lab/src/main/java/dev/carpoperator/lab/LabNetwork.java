package dev.carpoperator.lab;

import dev.carpoperator.testing.netns.NetnsLab;
import dev.carpoperator.testing.netns.RoutedFirewalls;
import dev.carpoperator.testing.netns.StatefulFirewall;
import java.util.List;
import java.util.Map;

/**
 * The lab's machines, each a network namespace: three firewall nodes between a client network and a
 * server network, with the interfaces and subnets of the active/standby example (Mickey and Minnie,
 * {@code examples/active-standby}), built by {@link RoutedFirewalls} ({@link #SPEC}):
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

  /** The example's layout: lan 192.0.2.0/24, dmz 198.51.100.0/24, sync 203.0.113.0/24 on eth2. */
  static final RoutedFirewalls.Spec SPEC =
      RoutedFirewalls.Spec.of(NODES.toArray(String[]::new))
          .withNetworks("192.0.2", "198.51.100", "203.0.113")
          .withFirstSyncHost(2)
          .withOutsideSwitch("dmz")
          .withSyncInterface("eth2");

  static final String LAN_IF = RoutedFirewalls.LAN_IF;
  static final String DMZ_IF = RoutedFirewalls.OUTSIDE_IF;
  static final String SYNC_IF = SPEC.syncIf();
  static final String CLIENT = SPEC.clientAddress();
  static final String SERVER = SPEC.serverAddress();
  static final String LAN_VIP = SPEC.lanVip();
  static final String LAN_VIP6 = "2001:db8:1::1";
  static final String DMZ_VIP = SPEC.outsideVip();
  static final int PORT = RoutedFirewalls.DEFAULT_PORT;

  final RoutedFirewalls net;
  final NetnsLab lab;
  final NetnsLab.Host client;
  final NetnsLab.Host server;

  private LabNetwork(RoutedFirewalls net) {
    this.net = net;
    this.lab = net.lab();
    this.client = net.client();
    this.server = net.server();
  }

  /** Creates the namespaces, links, addresses, routes and firewall rules. */
  static LabNetwork create() {
    return new LabNetwork(RoutedFirewalls.create(SPEC));
  }

  NetnsLab.Host node(String name) {
    return net.firewall(name);
  }

  /**
   * The node loses power (its processes are killed separately): every link goes down at both ends
   * (the cluster NIC too). Its NICs keep whatever addresses they had.
   */
  void powerOff(String name) {
    net.cutLinks(name, NetnsLab.Side.BOTH);
  }

  /**
   * The node boots again: as after a reboot, no virtual address on its NICs and an empty connection
   * table, then its links come up. (Its agent starts afterwards, as the DaemonSet's pod would.)
   */
  void powerOn(String name) {
    node(name).exec("ip", "addr", "del", LAN_VIP6 + "/64", "dev", LAN_IF);
    net.wipe(name); // the IPv4 VIPs, conntrack
    net.restoreLinks(name, NetnsLab.Side.BOTH);
  }

  boolean isOff(String name) {
    return net.linksCut(name);
  }

  /** Nodes, powered on, whose NIC holds {@code vip} right now. */
  List<String> holders(String vip) {
    return net.holders(vip);
  }

  /**
   * Whether the node's conntrack table has the client's connection from {@code clientPort} to the
   * server.
   */
  boolean tracks(String node, int clientPort) {
    return net.conntrack(node).containsKey(clientPort);
  }

  /** The conntrack line of the session on {@code node}, shortened for display, or "(none)". */
  String conntrackLine(String node, int clientPort) {
    var e = net.conntrack(node).get(clientPort);
    return e == null
        ? "(none)"
        : "tcp " + e.state() + " src=" + e.src() + " dst=" + SERVER + " sport=" + e.sport()
            + " dport=" + PORT;
  }

  /** The node's nftables counters (packets): fwd_established, drop_invalid, ... */
  Map<String, Long> counters(String node) {
    return net.counters(node);
  }

  @Override
  public void close() {
    net.close();
  }
}
