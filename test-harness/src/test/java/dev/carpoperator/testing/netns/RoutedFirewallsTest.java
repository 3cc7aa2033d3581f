package dev.carpoperator.testing.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The routed firewall topology with the VIPs added by hand (no agent): the layouts of its users,
 * routing and filtering through the firewall holding the VIPs, source NAT, link cuts and the wipe
 * of a reboot. Needs root; only documentation prefixes, inside namespaces the test creates.
 */
class RoutedFirewallsTest {

  /** The layout of {@code ./carp lab} (examples/active-standby's interfaces and subnets). */
  static RoutedFirewalls.Spec labLayout(String... firewalls) {
    return RoutedFirewalls.Spec.of(firewalls)
        .withNetworks("192.0.2", "198.51.100", "203.0.113")
        .withFirstSyncHost(2)
        .withOutsideSwitch("dmz")
        .withSyncInterface("eth2");
  }

  @Test
  void specsGiveEachUserItsAddresses() {
    RoutedFirewalls.Spec pair = RoutedFirewalls.Spec.of("fw1", "fw2");
    assertThat(pair.clientAddress()).isEqualTo("198.51.100.10");
    assertThat(pair.serverAddress()).isEqualTo("203.0.113.10");
    assertThat(pair.vips()).containsExactly("198.51.100.1", "203.0.113.1");
    assertThat(pair.lanAddress("fw2")).isEqualTo("198.51.100.3");
    assertThat(pair.outsideAddress("fw2")).isEqualTo("203.0.113.3");
    assertThat(pair.syncAddress("fw1")).isEqualTo("192.0.2.1");
    assertThat(pair.syncAddress("fw2")).isEqualTo("192.0.2.2");
    assertThat(pair.nicOf("203.0.113.1")).isEqualTo("eth1");
    assertThat(pair.port()).isEqualTo(5001);
    assertThat(pair.ruleset()).doesNotContain("snat");
    assertThat(pair.withSourceNat(true).ruleset())
        .contains("oifname \"eth1\" ip saddr 198.51.100.0/24 snat ip to 203.0.113.1");

    RoutedFirewalls.Spec lab = labLayout("mickey", "minnie", "goofy");
    assertThat(lab.clientAddress()).isEqualTo("192.0.2.10");
    assertThat(lab.serverAddress()).isEqualTo("198.51.100.10");
    assertThat(lab.vips()).containsExactly("192.0.2.1", "198.51.100.1");
    assertThat(lab.lanAddress("goofy")).isEqualTo("192.0.2.4");
    assertThat(lab.outsideAddress("goofy")).isEqualTo("198.51.100.4");
    assertThat(lab.syncAddress("mickey")).isEqualTo("203.0.113.2");
    assertThat(lab.syncAddress("goofy")).isEqualTo("203.0.113.4");

    assertThat(pair.agentConfig("fw1", 50, true, "pw") + pair.syncConfig("sync.key"))
        .isEqualTo(
            """
            node: fw1
            preempt: true
            logFormat: json
            virtualAddresses:
              - vhid: 1
                interface: eth0
                addresses: ["198.51.100.1/24"]
                advbase: 1
                advskew: 50
                password: "pw"
              - vhid: 2
                interface: eth1
                addresses: ["203.0.113.1/24"]
                advbase: 1
                advskew: 50
                password: "pw"
            sync:
              interface: sync0
              mode: authenticated
              keyFile: sync.key
            """);

    assertThatThrownBy(() -> RoutedFirewalls.Spec.of())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RoutedFirewalls.Spec.of("a", "b", "c", "d", "e", "f", "g", "h", "i"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RoutedFirewalls.Spec.of("fw1", "fw1"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RoutedFirewalls.Spec.of("client"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> pair.withNetworks("192.0.2", "192.0.2", "10.0.0"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> pair.withNetworks("192.0.2.0", "198.51.100", "10.0.0"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> pair.withSyncInterface("eth1"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> pair.lanAddress("fw3")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void trafficGoesThroughTheFirewallHoldingTheVipsAndOnlyOutwards() {
    RoutedFirewalls.Spec spec = labLayout("mickey", "minnie");
    try (RoutedFirewalls net = RoutedFirewalls.create(spec)) {
      assertThat(net.lab().hosts().stream().map(NetnsLab.Host::name))
          .containsExactly("client", "server", "mickey", "minnie");
      NetnsLab.Host mickey = net.firewall("mickey");
      assertThat(mickey.exec("sysctl", "-n", "net.ipv4.ip_forward").check().stdout().strip())
          .isEqualTo("1");
      assertThat(net.firewall("minnie").exec("ip", "-o", "addr", "show", "dev", "eth2").stdout())
          .contains(" 203.0.113.3/24 ");
      // the sync network joins the firewalls
      assertThat(mickey.exec("ping", "-c", "1", "-W", "2", "203.0.113.3").ok()).isTrue();
      assertThat(net.vipsOn("mickey")).isEmpty();

      holdVips(net, "mickey");
      assertThat(net.vipsOn("mickey")).containsExactly("192.0.2.1", "198.51.100.1");
      assertThat(net.holders("192.0.2.1")).containsExactly("mickey");
      assertThat(net.holders("198.51.100.1")).containsExactly("mickey");
      mickey.exec("ip", "addr", "add", "2001:db8:1::1/64", "dev", "eth0", "nodad").check();
      assertThat(net.holders("2001:db8:1::1")).containsExactly("mickey");

      assertThat(net.client().exec("ping", "-c", "2", "-W", "2", spec.serverAddress()).ok())
          .as("client → server through mickey")
          .isTrue();
      listen(net.server(), spec.port());
      assertThat(connect(net.client(), spec.serverAddress(), spec.port()))
          .as("a TCP connection client → server through mickey")
          .isEqualTo("hi");
      assertThat(net.conntrack("mickey").values())
          .as("mickey's conntrack of connections to the server's port")
          .anySatisfy(e -> assertThat(e.src()).isEqualTo(spec.clientAddress()));
      assertThat(net.counter("mickey", "fwd_new")).isPositive();
      assertThat(net.counter("mickey", "fwd_established")).isPositive();
      assertThat(net.counters("minnie")).containsEntry("fwd_new", 0L);
      assertThat(net.conntrack("minnie")).isEmpty();

      // the server may not open connections inwards
      long dropped = net.counter("mickey", "drop_other");
      listen(net.client(), 22);
      assertThat(connect(net.server(), spec.clientAddress(), 22)).isEmpty();
      assertThat(net.counter("mickey", "drop_other")).isGreaterThan(dropped);
      assertThat(net.diagnostics()).contains("mickey: VIPs [192.0.2.1, 198.51.100.1]");

      net.cutLinks("mickey", NetnsLab.Side.BOTH);
      assertThat(net.linksCut("mickey")).isTrue();
      assertThat(net.holders("192.0.2.1")).as("a firewall cut off is no gateway").isEmpty();
      assertThat(net.vipsOn("mickey")).as("it keeps its addresses").hasSize(2);
      assertThat(net.describe("mickey")).startsWith("links cut, ");
      net.wipe("mickey");
      assertThat(net.vipsOn("mickey")).isEmpty();
      assertThat(net.conntrack("mickey")).isEmpty();
      net.restoreLinks("mickey", NetnsLab.Side.BOTH);
      assertThat(net.linksCut("mickey")).isFalse();
      assertThat(mickey.exec("ip", "-br", "link", "show", "dev", "eth1").stdout()).contains("UP");

      holdVips(net, "minnie");
      // no agent to send a gratuitous ARP: the client and the server forget mickey's MAC instead
      net.client().exec("ip", "neigh", "flush", "dev", "eth0").check();
      net.server().exec("ip", "neigh", "flush", "dev", "eth0").check();
      assertThat(reachesWithin5s(net.client(), spec.serverAddress()))
          .as("client → server through minnie")
          .isTrue();
      assertThat(net.counter("minnie", "fwd_established")).isPositive();
    }
  }

  @Test
  void sourceNatSendsTheLansTrafficAsTheOutsideVip() {
    RoutedFirewalls.Spec spec = RoutedFirewalls.Spec.of("fw1", "fw2").withSourceNat(true);
    try (RoutedFirewalls net = RoutedFirewalls.create(spec)) {
      assertThat(net.firewall("fw2").exec("ip", "-o", "addr", "show", "dev", "sync0").stdout())
          .contains(" 192.0.2.2/24 ");
      assertThat(net.firewall("fw1").exec("ping", "-c", "1", "-W", "2", "192.0.2.2").ok()).isTrue();
      holdVips(net, "fw1");
      listen(net.server(), spec.port());
      assertThat(connect(net.client(), spec.serverAddress(), spec.port())).isEqualTo("hi");
      String ct = net.firewall("fw1").exec("conntrack", "-L", "-p", "tcp").stdout();
      assertThat(ct)
          .as("the reply goes to the outside VIP")
          .contains("src=203.0.113.10 dst=203.0.113.1 sport=5001");
      assertThat(net.conntrack("fw1")).hasSize(1);

      // the agents' sync key beside their configs: written once, 33 characters and a newline
      Path key = net.writeSyncKey();
      assertThat(key).isEqualTo(net.lab().dir().resolve("sync.key"));
      assertThat(key).content().hasSize(34);
      assertThat(net.writeSyncKey()).isEqualTo(key);
    }
  }

  private static void holdVips(RoutedFirewalls net, String fw) {
    for (String vip : net.spec().vips())
      net.firewall(fw).exec("ip", "addr", "add", vip + "/24", "dev", net.spec().nicOf(vip)).check();
  }

  /**
   * A TCP server on the host's {@code port} that answers every connection with "hi" (socat, as the
   * control plane's port forward uses); returns once it listens.
   */
  private static LabProcess listen(NetnsLab.Host host, int port) {
    LabProcess p =
        host.start(
            "listener-" + port,
            "socat",
            "TCP-LISTEN:" + port + ",reuseaddr,fork",
            "SYSTEM:echo hi");
    for (int i = 0; i < 100; i++) {
      if (!host.exec("ss", "-Hltn", "sport = :" + port).stdout().isBlank()) return p;
      if (!p.isAlive()) break;
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new AssertionError("socat does not listen on " + port + ": " + p.output());
  }

  /** One TCP connection (bash's /dev/tcp), at most 3 s: the first line the server sends, or "". */
  private static String connect(NetnsLab.Host from, String address, int port) {
    return from.exec(
            Duration.ofSeconds(6),
            "timeout",
            "3",
            "bash",
            "-c",
            "exec 3<>/dev/tcp/" + address + "/" + port + " && head -n 1 <&3")
        .stdout()
        .strip();
  }

  private static boolean reachesWithin5s(NetnsLab.Host from, String ip) {
    for (int i = 0; i < 5; i++) {
      if (from.exec("ping", "-c", "1", "-W", "1", ip).ok()) return true;
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }
}
