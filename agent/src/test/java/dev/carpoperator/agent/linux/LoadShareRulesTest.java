package dev.carpoperator.agent.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.carp.VhidOrder;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The rule text per mode; that nft accepts it is LoadShareDataplaneNetnsTest, that it works is
 * LoadSharingTest.
 */
class LoadShareRulesTest {
  static final Inet4Address VIP = (Inet4Address) InetAddress.ofLiteral("192.0.2.100");
  static final Inet4Address OWN = (Inet4Address) InetAddress.ofLiteral("192.0.2.11");

  static LoadShareRules.Group group(Balancing mode, Set<Integer> masters) {
    return new LoadShareRules.Group(
        "eth0", mode, new VhidOrder(List.of(4, 3)), List.of(VIP), masters, OWN);
  }

  @Test
  void everyScriptReplacesBothTablesInOneTransaction() {
    String s = LoadShareRules.script(List.of(group(Balancing.IP, Set.of(3))));
    assertThat(s)
        .startsWith(
            "table netdev carp_lb\ndelete table netdev carp_lb\ntable arp carp_lb\ndelete table arp carp_lb\n");
    assertThat(LoadShareRules.deleteScript()).doesNotContain("{");
  }

  @Test
  void ipModeKeepsTheBucketsOfOurVhidsAndAnnouncesTheMulticastMac() {
    // vhid order 3, 4: bucket 0 is vhid 3 (the leader), bucket 1 is vhid 4
    String s = LoadShareRules.script(List.of(group(Balancing.IP, Set.of(4))));
    assertThat(s)
        .contains(
            "type filter hook ingress device \"eth0\"",
            "ether daddr 01:00:5e:00:01:03 jhash ip saddr . ip daddr mod 2 seed 0x43415250 != { 1 } counter drop",
            "ether daddr 01:00:5e:00:01:03 counter meta pkttype set host",
            "meta oifname \"eth0\" arp saddr ip { 192.0.2.100 } arp saddr ether set 01:00:5e:00:01:03",
            // not the leader's master: leave ARP requests to the node that is
            "meta iifname \"eth0\" arp operation request arp daddr ip { 192.0.2.100 } counter drop");

    String leader = LoadShareRules.script(List.of(group(Balancing.IP, Set.of(3))));
    assertThat(leader)
        .contains("!= { 0 } counter drop")
        .doesNotContain("arp operation request arp daddr ip { 192.0.2.100 } counter drop");
    String all = LoadShareRules.script(List.of(group(Balancing.IP, Set.of(3, 4))));
    assertThat(all).doesNotContain("jhash").contains("counter meta pkttype set host");
    String none = LoadShareRules.script(List.of(group(Balancing.IP, Set.of())));
    assertThat(none).contains("ether daddr 01:00:5e:00:01:03 ether type ip counter drop");
  }

  @Test
  void stealthAndUnicastUseTheUnicastVirtualMac() {
    for (Balancing mode : List.of(Balancing.IP_STEALTH, Balancing.IP_UNICAST)) {
      assertThat(LoadShareRules.script(List.of(group(mode, Set.of(4)))))
          .contains(
              "ether daddr 00:00:5e:00:01:03 jhash ip saddr . ip daddr mod 2",
              "arp saddr ether set 00:00:5e:00:01:03");
      assertThat(group(mode, Set.of()).receiveMacs())
          .extracting(Object::toString)
          .containsExactly("00:00:5e:00:01:03");
    }
    assertThat(group(Balancing.IP, Set.of()).receiveMacs())
        .extracting(Object::toString)
        .containsExactly("01:00:5e:00:01:03");
  }

  @Test
  void arpModeAnswersItsBucketsWithTheBucketsVirtualMac() {
    String s = LoadShareRules.script(List.of(group(Balancing.ARP, Set.of(4))));
    assertThat(s)
        .contains(
            "meta iifname \"eth0\" arp operation request arp daddr ip { 192.0.2.100 } jhash arp saddr ether mod 2 seed 0x43415250 != { 1 } counter drop",
            "arp operation reply arp saddr ip { 192.0.2.100 } arp saddr ether set jhash arp daddr ether mod 2 seed 0x43415250 "
                + "map { 0 : 00:00:5e:00:01:03, 1 : 00:00:5e:00:01:04 }",
            "arp operation request arp saddr ip { 192.0.2.100 } arp saddr ip set 192.0.2.11",
            "ether daddr { 00:00:5e:00:01:04 } counter meta pkttype set host");
    assertThat(group(Balancing.ARP, Set.of()).receiveMacs())
        .extracting(Object::toString)
        .containsExactly("00:00:5e:00:01:03", "00:00:5e:00:01:04");
    assertThat(LoadShareRules.script(List.of(group(Balancing.ARP, Set.of()))))
        .contains("arp daddr ip { 192.0.2.100 } counter drop")
        .doesNotContain("pkttype");
  }

  @Test
  void balancingNoneHasNoRules() {
    assertThatThrownBy(() -> group(Balancing.NONE, Set.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
