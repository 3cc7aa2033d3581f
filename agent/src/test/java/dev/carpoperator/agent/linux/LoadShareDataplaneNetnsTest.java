package dev.carpoperator.agent.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.carp.VhidOrder;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The generated scripts are accepted by the real nft and kernel for every mode and master set,
 * replace each other, and the MAC filter entries come and go. Runs nft inside a lab host ({@code ip
 * netns exec}).
 */
class LoadShareDataplaneNetnsTest {
  static final Inet4Address VIP = (Inet4Address) InetAddress.ofLiteral("192.0.2.100");
  static final Inet4Address OWN = (Inet4Address) InetAddress.ofLiteral("192.0.2.1");
  NetnsLab lab;
  NetnsLab.Host host;
  LoadShareDataplane dp;

  @BeforeEach
  void lab() {
    lab = NetnsLab.create();
    host = lab.addHost("a", "192.0.2.1/24");
    dp = new LoadShareDataplane(List.of("ip", "netns", "exec", host.namespace()));
  }

  @AfterEach
  void close() {
    if (lab != null) lab.close();
  }

  static LoadShareRules.Group group(Balancing mode, Set<Integer> masters) {
    return new LoadShareRules.Group(
        "eth0", mode, new VhidOrder(List.of(3, 4, 5)), List.of(VIP), masters, OWN);
  }

  @Test
  void everyModeAndMasterSetIsAcceptedByNft() throws Exception {
    for (Balancing mode :
        List.of(Balancing.IP, Balancing.IP_STEALTH, Balancing.IP_UNICAST, Balancing.ARP)) {
      for (Set<Integer> masters :
          List.of(Set.<Integer>of(), Set.of(3), Set.of(4, 5), Set.of(3, 4, 5))) {
        dp.apply(List.of(group(mode, masters)));
        String ruleset = host.exec("nft", "list", "ruleset").check().stdout();
        assertThat(ruleset).contains("table netdev carp_lb", "table arp carp_lb");
      }
    }
    // two groups on one NIC share its ingress chain
    dp.apply(
        List.of(
            group(Balancing.IP, Set.of(3)),
            new LoadShareRules.Group(
                "eth0",
                Balancing.ARP,
                new VhidOrder(List.of(10, 11)),
                List.of((Inet4Address) InetAddress.ofLiteral("192.0.2.101")),
                Set.of(11),
                null)));
    String ruleset = host.exec("nft", "list", "table", "netdev", "carp_lb").check().stdout();
    assertThat(ruleset).contains("01:00:5e:00:01:03", "00:00:5e:00:01:0b");
    dp.clear();
    assertThat(host.exec("nft", "list", "ruleset").check().stdout()).doesNotContain("carp_lb");
    dp.clear(); // idempotent
  }

  @Test
  void aFailingNftIsReportedWithItsOutput() {
    LoadShareDataplane broken =
        new LoadShareDataplane(List.of("ip", "netns", "exec", lab.id() + "-nosuch"));
    assertThatThrownBy(() -> broken.apply(List.of(group(Balancing.IP, Set.of(3)))))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("nft -f - failed")
        .hasMessageContaining("table netdev carp_lb");
  }

  @Test
  void rulesForANicThatDoesNotExistYetAreAccepted() throws Exception {
    // Kernel 6.18 registers netdev hooks by name, so rules may precede the NIC (older kernels
    // refuse: ENOENT).
    dp.apply(
        List.of(
            new LoadShareRules.Group(
                "later0",
                Balancing.IP,
                new VhidOrder(List.of(3, 4)),
                List.of(VIP),
                Set.of(3),
                OWN)));
    assertThat(host.exec("nft", "list", "table", "netdev", "carp_lb").check().stdout())
        .contains("later0");
  }

  @Test
  void nicAcceptsAndForgetsTheGroupMacs() throws Exception {
    MacAddress mcast = Balancing.IP.groupMac(3);
    MacAddress vmac = MacAddress.virtual(3);
    dp.acceptMac("eth0", mcast);
    dp.acceptMac("eth0", mcast); // idempotent
    dp.acceptMac("eth0", vmac);
    assertThat(host.exec("ip", "maddr", "show", "dev", "eth0").check().stdout())
        .contains("01:00:5e:00:01:03");
    assertThat(host.exec("bridge", "fdb", "show", "dev", "eth0", "self").check().stdout())
        .contains("00:00:5e:00:01:03");
    dp.removeMac("eth0", mcast);
    dp.removeMac("eth0", vmac);
    dp.removeMac("eth0", vmac); // already gone: no error
    assertThat(host.exec("bridge", "fdb", "show", "dev", "eth0", "self").check().stdout())
        .doesNotContain("01:00:5e:00:01:03", "00:00:5e:00:01:03");
  }

  /**
   * Prints how long one update takes (the engine does one per state change); asserts nothing about
   * time.
   */
  @Test
  void measureRuleUpdateTime() throws Exception {
    List<Long> micros = new ArrayList<>();
    for (int i = 0; i < 120; i++) {
      Duration d =
          dp.apply(
              List.of(
                  group(
                      i % 2 == 0 ? Balancing.IP : Balancing.ARP,
                      i % 3 == 0 ? Set.of(3) : Set.of(4, 5))));
      if (i >= 20) micros.add(d.toNanos() / 1000);
    }
    List<Long> floor = new ArrayList<>();
    for (int i = 0; i < 120; i++) {
      long t0 = System.nanoTime();
      host.exec("true").check(); // what ip netns exec alone costs: the agent runs nft directly
      if (i >= 20) floor.add((System.nanoTime() - t0) / 1000);
    }
    report("load-share rule update (nft -f -, via ip netns exec)", micros);
    report("floor: ip netns exec true", floor);
    assertThat(micros).hasSize(100);
  }

  private static void report(String what, List<Long> micros) {
    micros.sort(null);
    System.out.printf(
        "%s: n=%d median %d us, p90 %d us, max %d us%n",
        what,
        micros.size(),
        micros.get(micros.size() / 2),
        micros.get(micros.size() * 9 / 10),
        micros.getLast());
  }
}
