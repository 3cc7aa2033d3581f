package dev.carpoperator.agent.engine;

import static dev.carpoperator.agent.engine.EngineFakes.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.engine.EngineFakes.FakeNics;
import dev.carpoperator.agent.engine.EngineFakes.Nic;
import dev.carpoperator.agent.net.MacAddress;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinkFactsTest {
  static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");

  final FakeNics nics = new FakeNics();
  final LinkFacts facts = new LinkFacts(nics);
  final Nic eth0 = nics.add("eth0", MAC, "192.0.2.10", "192.0.2.1", "fe80::1", "2001:db8::1");
  final CarpLink link = new CarpLink("eth0", new RejectionCounters());

  @Test
  void aMissingNicIsAnError() throws Exception {
    assertThat(facts.mac("eth0")).isEqualTo(MAC);
    assertThatThrownBy(() -> facts.mac("nope"))
        .isInstanceOf(IOException.class)
        .hasMessage("interface nope does not exist on this host");
    assertThat(facts.exists("eth0")).isTrue();
    assertThat(facts.exists("nope")).isFalse();
  }

  @Test
  void advertsNeverGoFromAVirtualAddress() {
    link.vhosts.put(
        1,
        new CarpVhost(
            link, new VhostSpec("eth0", 1, 1, 0, false, "pw", List.of("192.0.2.10/24")), true, 1));
    facts.refreshSources(link);
    assertThat(link.sourceV4).isEqualTo(ip("192.0.2.1"));
    assertThat(link.linkLocalV6).isEqualTo(ip("fe80::1"));
    assertThat(facts.ownV4(link)).isEqualTo(ip("192.0.2.1"));
  }

  @Test
  void sourcesAreCachedUntilTheNextPoll() {
    assertThat(facts.sourceV4(link)).isEqualTo(ip("192.0.2.10"));
    eth0.addresses.remove(ip("192.0.2.10"));
    assertThat(facts.sourceV4(link)).isEqualTo(ip("192.0.2.10"));
    facts.poll(List.of(link));
    assertThat(facts.sourceV4(link)).isEqualTo(ip("192.0.2.1"));
    assertThat(facts.linkLocalV6(link)).isEqualTo(ip("fe80::1"));
  }

  @Test
  void aFailedLookupKeepsWhatWasKnown() {
    facts.refreshSources(link);
    nics.failListing = true;
    facts.refreshSources(link);
    assertThat(link.sourceV4).isEqualTo(ip("192.0.2.10"));
    facts.refreshLocalAddresses();
    assertThat(facts.hostAddresses()).isEmpty();
    link.sourceV4 = null;
    assertThat(facts.ownV4(link)).isNull();
  }

  @Test
  void thePollReportsCarrierChangesAndTheHostsAddresses() {
    assertThat(facts.localAddresses()).isEmpty();
    assertThat(facts.poll(List.of(link))).isEmpty();
    assertThat(facts.localAddresses()).contains(ip("192.0.2.1"), ip("2001:db8::1"));
    eth0.carrier = false;
    assertThat(facts.poll(List.of(link))).containsExactly(link);
    assertThat(link.carrier).isFalse();
    assertThat(facts.poll(List.of(link))).isEmpty();
    eth0.carrier = true;
    assertThat(facts.poll(List.of(link))).containsExactly(link);
    assertThat(link.carrier).isTrue();
  }

  @Test
  void eachFamilysGroupIsJoinedOncePerLink() throws Exception {
    facts.join(link, true, false);
    facts.join(link, true, false);
    facts.join(link, true, true);
    facts.join(link, false, true);
    assertThat(nics.joins).containsExactly("eth0 v4", "eth0 v6");
    assertThat(link.memberships).hasSize(2);
    assertThat(link.joinedV4).isTrue();
    assertThat(link.joinedV6).isTrue();
  }

  @Test
  void hostAddressesCarryTheirInterface() {
    assertThat(facts.hostAddresses())
        .extracting(h -> h.interfaceName() + " " + h.cidr())
        .contains("eth0 192.0.2.1/24");
  }
}
