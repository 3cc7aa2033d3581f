package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.engine.EngineFakes.FakeAddresses;
import dev.carpoperator.agent.engine.EngineFakes.FakeFrameIo;
import dev.carpoperator.agent.engine.EngineFakes.FakeNics;
import dev.carpoperator.agent.engine.EngineFakes.FakePlane;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.MacAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CarpLinksTest {
  static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");

  final FakeNics nics = new FakeNics();
  final FakeAddresses addresses = new FakeAddresses();
  final Map<String, RejectionCounters> rejections = new ConcurrentHashMap<>();
  final AgentMetrics metrics = new AgentMetrics(rejections);
  final LinkFacts facts = new LinkFacts(nics);
  final AddressActuator actuator = new AddressActuator(addresses, metrics);
  final LoadShareCoordinator loadSharing =
      new LoadShareCoordinator(
          "fw1", new FakePlane(), actuator, facts, metrics, r -> {}, () -> false);
  final EngineEvents events = new EngineEvents("fw1", metrics);
  final List<String> refused = new CopyOnWriteArrayList<>();
  final Map<String, FakeFrameIo> ios = new ConcurrentHashMap<>();
  final List<String> received = new CopyOnWriteArrayList<>();
  final CarpLinks links =
      new CarpLinks(
          rejections,
          facts,
          actuator,
          loadSharing,
          events,
          ifName -> ios.computeIfAbsent(ifName, n -> new FakeFrameIo()),
          (link, frame) -> received.add(link.name + " " + frame.length));

  {
    nics.add("eth0", MAC, "192.0.2.1", "fe80::1");
    events.add(
        new EngineListener() {
          @Override
          public void vhidRefused(String ifName, int vhid, String reason, String message) {
            refused.add(ifName + "/" + vhid + " " + reason);
          }
        });
  }

  @AfterEach
  void stop() {
    actuator.shutdown();
  }

  static VhostSpec spec(String ifName, int vhid, String... prefixes) {
    return new VhostSpec(ifName, vhid, 1, 0, false, "pw", List.of(prefixes));
  }

  @Test
  void openingALinkWiresItsVhostsAndFrames() throws Exception {
    actuator.addRecorded("eth0", "192.0.2.10/24"); // a stray copy left by a crash
    addresses.calls.clear();
    links.add(spec("eth0", 1, "192.0.2.10/24"), true);
    links.add(spec("eth0", 2, "2001:db8::10/64"), true);
    links.openAll();
    CarpLink link = links.get("eth0");
    assertThat(link.mac).isEqualTo(MAC);
    assertThat(link.keys.keySet()).containsExactly(1, 2);
    assertThat(nics.joins).containsExactly("eth0 v4", "eth0 v6");
    assertThat(addresses.calls).containsExactly("remove eth0 192.0.2.10/24");
    assertThat(link.sourceV4).isNotNull();
    assertThat(link.carrier).isTrue();
    assertThat(rejections).containsKey("eth0");
    ios.get("eth0").deliver(new byte[60]);
    assertThat(received).containsExactly("eth0 60");
    assertThat(link.pipeline).isNotNull();
  }

  @Test
  void aMissingNicTakesOutOnlyItsOwnVhids() {
    links.add(spec("eth0", 1, "192.0.2.10/24"), true);
    links.add(spec("nosuch0", 2, "198.51.100.10/24"), true);
    links.openAll();
    assertThat(links.all()).extracting(l -> l.name).containsExactly("eth0");
    assertThat(links.vhosts()).extracting(CarpVhost::vhid).containsExactly(1);
  }

  @Test
  void vhidsOnTheNodesOwnAddressesAreRefusedAGroupWhole() {
    LoadShare share = new LoadShare(Balancing.ARP, List.of(3, 4));
    links.add(spec("eth0", 1, "192.0.2.1/24"), true); // the node's own address
    links.add(spec("eth0", 2, "192.0.2.10/24"), true);
    links.add(new VhostSpec("eth0", 3, 1, 0, false, "pw", List.of("192.0.2.1/24"), share), true);
    links.add(new VhostSpec("eth0", 4, 1, 0, false, "pw", List.of("192.0.2.1/24"), share), true);
    links.refuseNodeAddresses();
    assertThat(links.vhosts()).extracting(CarpVhost::vhid).containsExactly(2);
    assertThat(refused)
        .containsExactly(
            "eth0/1 AddressIsNodeAddress",
            "eth0/3 AddressIsNodeAddress",
            "eth0/4 AddressIsNodeAddress");
    assertThat(loadSharing.isEmpty()).isTrue();
  }

  @Test
  void anAddressThisAgentAddedIsNoConflict() throws Exception {
    nics.nics.get("eth0").addresses.add(EngineFakes.ip("192.0.2.10"));
    actuator.recordIn(AddressRecord.inMemory());
    actuator.addRecorded("eth0", "192.0.2.10/24");
    links.add(spec("eth0", 1, "192.0.2.10/24"), true);
    links.refuseNodeAddresses();
    assertThat(refused).isEmpty();
  }

  @Test
  void aLinkWithoutVhidsLeft() {
    links.add(spec("eth0", 1, "192.0.2.1/24"), true);
    links.refuseNodeAddresses();
    assertThat(links.all()).isEmpty();
  }

  @Test
  void reconfigurationsAddVhostsToRunningAndNewLinks() throws Exception {
    links.add(spec("eth0", 1, "192.0.2.10/24"), true);
    links.openAll();
    nics.add("eth1", MacAddress.parse("02:00:00:00:00:09"), "198.51.100.1");
    var host = facts.hostAddresses();
    CarpVhost onRunning = links.addRunning(spec("eth0", 2, "192.0.2.11/24"), true, host);
    CarpVhost onNew = links.addRunning(spec("eth1", 1, "198.51.100.10/24"), true, host);
    assertThat(onRunning).isNotNull();
    assertThat(onNew).isNotNull();
    assertThat(links.get("eth1").io).isSameAs(ios.get("eth1"));
    assertThat(links.addRunning(spec("eth0", 3, "192.0.2.1/24"), true, host)).isNull();
    assertThat(refused).containsExactly("eth0/3 AddressIsNodeAddress");
    assertThat(links.addRunning(spec("nosuch0", 1, "203.0.113.10/24"), true, host)).isNull();
    assertThat(links.get("nosuch0")).isNull();
    links.remove(onRunning);
    assertThat(links.get("eth0").vhosts.keySet()).containsExactly(1);
    assertThat(links.get("eth0").keys.keySet()).containsExactly(1);
  }

  @Test
  void closeStopsFramesAndLeavesTheGroups() {
    links.add(spec("eth0", 1, "192.0.2.10/24"), true);
    links.openAll();
    links.close();
    assertThat(ios.get("eth0").closed).isTrue();
    assertThat(nics.left).containsExactly("eth0 v4");
  }
}
