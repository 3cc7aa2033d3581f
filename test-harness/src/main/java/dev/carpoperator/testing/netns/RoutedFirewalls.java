package dev.carpoperator.testing.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The routed firewall topology of the labs: firewalls with CARP gateways between a client network
 * and a server network, each a stateful router ({@link StatefulFirewall}), with a sync network
 * between them. One definition for the agent's failover tests, the bench's torture lab and {@code
 * ./carp lab}; {@link Spec} says what differs between them (firewalls, subnets, names, source NAT).
 *
 * <pre>
 *   client  L.10 ── lan (the lab's first switch) ── firewall i: eth0 L.(2+i)          VIP L.1
 *   server  O.10 ── outside switch ({@code wan}) ─── firewall i: eth1 O.(2+i)          VIP O.1
 *                   sync switch ({@code sync}) ───── firewall i: sync0 S.(firstSyncHost+i)
 * </pre>
 *
 * Every network is a /24 ({@code L}, {@code O} and {@code S} its first three octets). The client's
 * default route is the lan VIP, the server's the outside VIP. Every firewall forwards and loads the
 * same ruleset: forward policy drop, established/related accepted, new connections only from eth0
 * to eth1 and only with a pure SYN, loose pickup off, so a firewall passes the packets of an
 * existing connection only if it knows the connection (its own, or given by the state sync). With
 * {@link Spec#sourceNat} the lan's traffic leaves as the outside VIP (snat, not masquerade: the
 * state can move). No VIP is configured here: that is the agents' job.
 *
 * <p>Hosts are added in the order client, server, firewalls (each host's MAC follows its index,
 * {@link NetnsLab#addHost}). {@link #in} builds into an existing lab (whose owner may add more:
 * agents, a Kubernetes cluster switch); {@link #close} closes the lab.
 */
public final class RoutedFirewalls implements AutoCloseable {
  /** The firewalls' inside NIC, on the lab's first switch (the lan). */
  public static final String LAN_IF = NetnsLab.HOST_IF;

  /** The firewalls' outside NIC, on the outside switch. */
  public static final String OUTSIDE_IF = "eth1";

  /** Name of the switch of the sync network. */
  public static final String SYNC_SWITCH = "sync";

  /**
   * The server port the labs' traffic goes to ({@link #conntrack} filters on {@link Spec#port}).
   */
  public static final int DEFAULT_PORT = 5001;

  /** Firewalls get .2 to .9: .10 is the client's (and the server's). */
  public static final int MAX_FIREWALLS = 8;

  /** {@link #writeSyncKey}'s file, beside the agents' configs in the lab directory. */
  public static final String SYNC_KEY_FILE = "sync.key";

  private static final Pattern NET = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9]{0,14}");

  /**
   * What varies between the users of the topology.
   *
   * @param firewalls the firewalls' host names, in order (firewall i gets .(2+i))
   * @param lanNet first three octets of the client network, e.g. {@code "198.51.100"}
   * @param outsideNet first three octets of the server network
   * @param syncNet first three octets of the sync network
   * @param firstSyncHost last octet of the first firewall's sync address (then +1 each)
   * @param outsideSwitch name of the outside switch ({@link NetnsLab#addSwitch})
   * @param syncIf the firewalls' sync NIC
   * @param sourceNat whether traffic from the lan leaves as the outside VIP
   * @param port the server port whose connections {@link RoutedFirewalls#conntrack} lists
   */
  public record Spec(
      List<String> firewalls,
      String lanNet,
      String outsideNet,
      String syncNet,
      int firstSyncHost,
      String outsideSwitch,
      String syncIf,
      boolean sourceNat,
      int port) {
    public Spec {
      firewalls = List.copyOf(firewalls);
      if (firewalls.isEmpty() || firewalls.size() > MAX_FIREWALLS)
        throw new IllegalArgumentException(
            "1-" + MAX_FIREWALLS + " firewalls, got " + firewalls.size());
      if (new LinkedHashSet<>(firewalls).size() != firewalls.size()
          || firewalls.contains("client")
          || firewalls.contains("server"))
        throw new IllegalArgumentException(
            "firewall names must be distinct and not client or server: " + firewalls);
      Set<String> nets = new LinkedHashSet<>();
      for (String net : List.of(lanNet, outsideNet, syncNet)) {
        var m = NET.matcher(net);
        if (!m.matches()) throw new IllegalArgumentException("not three octets: " + net);
        for (int g = 1; g <= 3; g++)
          if (Integer.parseInt(m.group(g)) > 255)
            throw new IllegalArgumentException("not three octets: " + net);
        nets.add(net);
      }
      if (nets.size() != 3)
        throw new IllegalArgumentException(
            "lan, outside and sync must be different networks: " + nets);
      if (firstSyncHost < 1 || firstSyncHost + firewalls.size() - 1 > 254)
        throw new IllegalArgumentException("sync addresses out of range from ." + firstSyncHost);
      if (!NAME.matcher(outsideSwitch).matches() || outsideSwitch.equals(SYNC_SWITCH))
        throw new IllegalArgumentException("bad outside switch name: " + outsideSwitch);
      if (!NAME.matcher(syncIf).matches() || syncIf.equals(LAN_IF) || syncIf.equals(OUTSIDE_IF))
        throw new IllegalArgumentException("bad sync interface name: " + syncIf);
      if (port < 1 || port > 65535) throw new IllegalArgumentException("bad port: " + port);
    }

    /**
     * The layout of the agent's failover tests and the torture lab: lan 198.51.100.0/24, outside
     * {@code wan} 203.0.113.0/24, sync 192.0.2.0/24 from .1 on {@code sync0}, no NAT, port {@value
     * RoutedFirewalls#DEFAULT_PORT}.
     */
    public static Spec of(String... firewalls) {
      return new Spec(
          List.of(firewalls),
          "198.51.100",
          "203.0.113",
          "192.0.2",
          1,
          "wan",
          "sync0",
          false,
          DEFAULT_PORT);
    }

    public Spec withNetworks(String lan, String outside, String sync) {
      return new Spec(
          firewalls, lan, outside, sync, firstSyncHost, outsideSwitch, syncIf, sourceNat, port);
    }

    public Spec withFirstSyncHost(int octet) {
      return new Spec(
          firewalls, lanNet, outsideNet, syncNet, octet, outsideSwitch, syncIf, sourceNat, port);
    }

    public Spec withOutsideSwitch(String name) {
      return new Spec(
          firewalls, lanNet, outsideNet, syncNet, firstSyncHost, name, syncIf, sourceNat, port);
    }

    public Spec withSyncInterface(String name) {
      return new Spec(
          firewalls,
          lanNet,
          outsideNet,
          syncNet,
          firstSyncHost,
          outsideSwitch,
          name,
          sourceNat,
          port);
    }

    public Spec withSourceNat(boolean on) {
      return new Spec(
          firewalls, lanNet, outsideNet, syncNet, firstSyncHost, outsideSwitch, syncIf, on, port);
    }

    public String clientAddress() {
      return lanNet + ".10";
    }

    public String serverAddress() {
      return outsideNet + ".10";
    }

    /** The gateway of the client (vhid 1 of {@link #agentConfig}). */
    public String lanVip() {
      return lanNet + ".1";
    }

    /** The gateway of the server (vhid 2 of {@link #agentConfig}), the source NAT address. */
    public String outsideVip() {
      return outsideNet + ".1";
    }

    /** The lan VIP, then the outside VIP. */
    public List<String> vips() {
      return List.of(lanVip(), outsideVip());
    }

    /** The NIC a VIP of {@link #vips} runs on. */
    public String nicOf(String vip) {
      if (vip.equals(lanVip())) return LAN_IF;
      if (vip.equals(outsideVip())) return OUTSIDE_IF;
      throw new IllegalArgumentException("not a VIP of the topology: " + vip);
    }

    /** The client network in CIDR form, e.g. {@code 198.51.100.0/24}. */
    public String lanCidr() {
      return lanNet + ".0/24";
    }

    public String lanAddress(String firewall) {
      return lanNet + "." + (2 + index(firewall));
    }

    public String outsideAddress(String firewall) {
      return outsideNet + "." + (2 + index(firewall));
    }

    public String syncAddress(String firewall) {
      return syncNet + "." + (firstSyncHost + index(firewall));
    }

    private int index(String firewall) {
      int i = firewalls.indexOf(firewall);
      if (i < 0) throw new IllegalArgumentException("no firewall " + firewall);
      return i;
    }

    /** Every firewall's ruleset ({@link StatefulFirewall#ruleset}): eth0 inside, eth1 outside. */
    public String ruleset() {
      return StatefulFirewall.ruleset(
          LAN_IF, OUTSIDE_IF, sourceNat ? lanCidr() : null, sourceNat ? outsideVip() : null);
    }

    /**
     * A standalone agent's configuration with both gateways: vhid 1 for the lan VIP on eth0, vhid 2
     * for the outside VIP on eth1, advbase 1, the node's advskew on both, JSON logs; without {@code
     * sync:} ({@link #syncConfig}).
     */
    public String agentConfig(String node, int advskew, boolean preempt, String password) {
      return """
          node: %1$s
          preempt: %2$s
          logFormat: json
          virtualAddresses:
            - vhid: 1
              interface: %3$s
              addresses: ["%4$s/24"]
              advbase: 1
              advskew: %6$d
              password: "%8$s"
            - vhid: 2
              interface: %5$s
              addresses: ["%7$s/24"]
              advbase: 1
              advskew: %6$d
              password: "%8$s"
          """
          .formatted(node, preempt, LAN_IF, lanVip(), OUTSIDE_IF, advskew, outsideVip(), password);
    }

    /**
     * The {@code sync:} section to append to {@link #agentConfig}: authenticated sync on the sync
     * NIC with {@code keyFile} (relative to the config's directory, e.g. {@value #SYNC_KEY_FILE}).
     */
    public String syncConfig(String keyFile) {
      return """
          sync:
            interface: %s
            mode: authenticated
            keyFile: %s
          """
          .formatted(syncIf, keyFile);
    }
  }

  private final NetnsLab lab;
  private final Spec spec;
  private final NetnsLab.Host client;
  private final NetnsLab.Host server;
  private final Map<String, NetnsLab.Host> firewalls = new LinkedHashMap<>();

  /** Firewalls whose links {@link #cutLinks} took down. */
  private final Set<String> cut = ConcurrentHashMap.newKeySet();

  private RoutedFirewalls(NetnsLab lab, Spec spec) {
    this.lab = lab;
    this.spec = spec;
    lab.addSwitch(spec.outsideSwitch()).addSwitch(SYNC_SWITCH);
    client = lab.addHost("client", spec.clientAddress() + "/24");
    server = lab.addHostOn(spec.outsideSwitch(), "server", spec.serverAddress() + "/24");
    client.exec("ip", "route", "add", "default", "via", spec.lanVip()).check();
    server.exec("ip", "route", "add", "default", "via", spec.outsideVip()).check();
    String rules = spec.ruleset();
    for (String name : spec.firewalls()) {
      NetnsLab.Host fw = lab.addHost(name, spec.lanAddress(name) + "/24");
      fw.addInterface(OUTSIDE_IF, spec.outsideSwitch(), spec.outsideAddress(name) + "/24");
      fw.addInterface(spec.syncIf(), SYNC_SWITCH, spec.syncAddress(name) + "/24");
      StatefulFirewall.install(fw, lab.dir(), rules);
      firewalls.put(name, fw);
    }
  }

  /** A new lab with the topology: switches, hosts, addresses, routes, rules; no agent running. */
  public static RoutedFirewalls create(Spec spec) {
    return in(NetnsLab.create(), spec);
  }

  /**
   * Builds the topology into {@code lab}, which must not have the spec's switches and hosts yet.
   * The lab is closed if that fails.
   */
  public static RoutedFirewalls in(NetnsLab lab, Spec spec) {
    try {
      return new RoutedFirewalls(lab, spec);
    } catch (RuntimeException e) {
      lab.close();
      throw e;
    }
  }

  public NetnsLab lab() {
    return lab;
  }

  public Spec spec() {
    return spec;
  }

  public NetnsLab.Host client() {
    return client;
  }

  public NetnsLab.Host server() {
    return server;
  }

  /** The firewalls' names, in order. */
  public List<String> firewalls() {
    return spec.firewalls();
  }

  public NetnsLab.Host firewall(String name) {
    NetnsLab.Host h = firewalls.get(name);
    if (h == null) throw new IllegalArgumentException("no firewall " + name);
    return h;
  }

  // ---- addresses
  // ------------------------------------------------------------------------------------------

  /** The addresses (without prefix length) on each NIC of the firewall right now. */
  public Map<String, Set<String>> addresses(String firewall) {
    String out = firewall(firewall).exec("ip", "-o", "addr", "show").stdout();
    Map<String, Set<String>> byNic = new TreeMap<>();
    for (String line : out.lines().toList()) {
      // "2: eth0    inet 198.51.100.2/24 brd ... scope global eth0\ ..."
      String[] f = line.strip().split("\\s+");
      if (f.length < 4 || !(f[2].equals("inet") || f[2].equals("inet6"))) continue;
      String nic = f[1].contains("@") ? f[1].substring(0, f[1].indexOf('@')) : f[1];
      String address = f[3].contains("/") ? f[3].substring(0, f[3].indexOf('/')) : f[3];
      byNic.computeIfAbsent(nic, k -> new LinkedHashSet<>()).add(address);
    }
    return byNic;
  }

  /** The VIPs on their NICs of this firewall (lan VIP on eth0, outside VIP on eth1), lan first. */
  public List<String> vipsOn(String firewall) {
    Map<String, Set<String>> byNic = addresses(firewall);
    List<String> out = new ArrayList<>();
    for (String vip : spec.vips())
      if (byNic.getOrDefault(spec.nicOf(vip), Set.of()).contains(vip)) out.add(vip);
    return out;
  }

  /**
   * Firewalls whose links are not cut ({@link #cutLinks}) and that hold {@code address}: a VIP on
   * its NIC, any other address (an IPv6 VIP, say) on any NIC. A firewall cut off keeps its
   * addresses but is no gateway any more.
   */
  public List<String> holders(String address) {
    List<String> out = new ArrayList<>();
    for (String fw : spec.firewalls()) {
      if (cut.contains(fw)) continue;
      Map<String, Set<String>> byNic = addresses(fw);
      boolean holds =
          spec.vips().contains(address)
              ? byNic.getOrDefault(spec.nicOf(address), Set.of()).contains(address)
              : byNic.values().stream().anyMatch(s -> s.contains(address));
      if (holds) out.add(fw);
    }
    return out;
  }

  // ---- links and reboots
  // ----------------------------------------------------------------------------------

  /**
   * Takes every link of the firewall down (lan, outside, sync, and any NIC added since) on the
   * given side: {@link NetnsLab.Side#SWITCH} is a pulled cable (its NICs lose carrier), {@link
   * NetnsLab.Side#BOTH} a dead box. Its addresses and conntrack stay.
   */
  public void cutLinks(String firewall, NetnsLab.Side side) {
    NetnsLab.Host h = firewall(firewall);
    cut.add(firewall);
    h.cutAll(side);
  }

  /** Brings every link of the firewall back up on the given side. */
  public void restoreLinks(String firewall, NetnsLab.Side side) {
    firewall(firewall).restoreAll(side);
    cut.remove(firewall);
  }

  /** Whether {@link #cutLinks} took the firewall's links down and they are not restored. */
  public boolean linksCut(String firewall) {
    firewall(firewall);
    return cut.contains(firewall);
  }

  /**
   * What a reboot loses: the VIPs go from its NICs and its connection table is emptied. (Other
   * addresses an agent added are the caller's to remove.)
   */
  public void wipe(String firewall) {
    NetnsLab.Host h = firewall(firewall);
    for (String vip : spec.vips())
      h.exec("ip", "addr", "del", vip + "/24", "dev", spec.nicOf(vip)); // fails when absent
    flushConntrack(firewall);
  }

  /** Empties the firewall's connection table. */
  public void flushConntrack(String firewall) {
    firewall(firewall).exec("conntrack", "-F"); // exits 1 when the table is already empty
  }

  // ---- firewall state
  // -------------------------------------------------------------------------------------

  /** The named nftables counters of the firewall ({@link StatefulFirewall#COUNTERS}): packets. */
  public Map<String, Long> counters(String firewall) {
    return StatefulFirewall.counters(firewall(firewall));
  }

  public long counter(String firewall, String name) {
    return counters(firewall).getOrDefault(name, 0L);
  }

  /** The firewall's conntrack entries of TCP connections to the server's port, by client port. */
  public Map<Integer, StatefulFirewall.CtEntry> conntrack(String firewall) {
    return StatefulFirewall.conntrack(firewall(firewall), spec.serverAddress(), spec.port());
  }

  /**
   * One line on the firewall: links (when cut), VIPs, nft counters, conntrack states of connections
   * to the server port.
   */
  public String describe(String firewall) {
    Map<String, Long> states = new TreeMap<>();
    conntrack(firewall).values().forEach(e -> states.merge(e.state(), 1L, Long::sum));
    return (linksCut(firewall) ? "links cut, " : "")
        + "VIPs "
        + vipsOn(firewall)
        + ", nft counters "
        + counters(firewall)
        + ", conntrack to :"
        + spec.port()
        + " "
        + states;
  }

  /** {@link #describe} of every firewall, one line each. */
  public String diagnostics() {
    StringBuilder sb = new StringBuilder();
    for (String fw : spec.firewalls()) sb.append(fw).append(": ").append(describe(fw)).append('\n');
    return sb.toString();
  }

  // ---- agents
  // ---------------------------------------------------------------------------------------------

  /**
   * Writes {@value #SYNC_KEY_FILE} (33 ASCII characters and a newline) to the lab directory once.
   */
  public synchronized Path writeSyncKey() {
    Path key = lab.dir().resolve(SYNC_KEY_FILE);
    try {
      if (!Files.exists(key))
        Files.writeString(key, "lab-sync-key-0123456789abcdefghij\n", StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return key;
  }

  /** Closes the lab (its processes stop, its namespaces go). */
  @Override
  public void close() {
    lab.close();
  }

  @Override
  public String toString() {
    return "RoutedFirewalls[" + lab.id() + " " + spec.firewalls() + "]";
  }
}
