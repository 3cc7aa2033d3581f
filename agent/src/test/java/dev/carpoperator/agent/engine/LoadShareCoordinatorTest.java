package dev.carpoperator.agent.engine;

import static dev.carpoperator.agent.engine.EngineFakes.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.engine.EngineFakes.FakeAddresses;
import dev.carpoperator.agent.engine.EngineFakes.FakeFrameIo;
import dev.carpoperator.agent.engine.EngineFakes.FakeNics;
import dev.carpoperator.agent.engine.EngineFakes.FakePlane;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.AnnouncementFrames;
import dev.carpoperator.agent.net.MacAddress;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadShareCoordinatorTest {
  static final MacAddress NIC_MAC = MacAddress.parse("02:00:00:00:00:01");
  static final List<String> PREFIXES = List.of("192.0.2.10/24");

  final FakeNics nics = new FakeNics();
  final LinkFacts facts = new LinkFacts(nics);
  final FakeAddresses addresses = new FakeAddresses();
  final AgentMetrics metrics = new AgentMetrics(Map.of());
  final AddressActuator actuator = new AddressActuator(addresses, metrics);
  final FakePlane plane = new FakePlane();
  final List<Runnable> retries = new ArrayList<>();
  final AtomicBoolean stopped = new AtomicBoolean();
  final LoadShareCoordinator coordinator =
      new LoadShareCoordinator("fw1", plane, actuator, facts, metrics, retries::add, stopped::get);
  final CarpLink link = new CarpLink("eth0", new RejectionCounters());
  final FakeFrameIo io = new FakeFrameIo();
  final CarpVhost v1 = member(1, Balancing.IP);
  final CarpVhost v2 = member(2, Balancing.IP);

  {
    nics.add("eth0", NIC_MAC, "192.0.2.1");
    link.io = io;
    link.mac = NIC_MAC;
  }

  CarpVhost member(int vhid, Balancing mode) {
    LoadShare share = new LoadShare(mode, List.of(1, 2));
    CarpVhost v =
        new CarpVhost(
            link, new VhostSpec("eth0", vhid, 1, 0, false, "pw", PREFIXES, share), true, vhid);
    link.vhosts.put(vhid, v);
    coordinator.join(v, share);
    return v;
  }

  static void master(CarpVhost v) {
    v.sm.start(0);
    v.sm.tick(v.sm.masterDownIntervalNanos()); // nobody advertised: master-down makes it MASTER
    assertThat(v.sm.state()).isEqualTo(CarpState.MASTER);
  }

  @AfterEach
  void stop() {
    actuator.shutdown();
  }

  @Test
  void membersShareOneGroup() {
    assertThat(coordinator.groups())
        .singleElement()
        .satisfies(
            g -> {
              assertThat(g.members.keySet()).containsExactly(1, 2);
              assertThat(g.v4).containsExactly((Inet4Address) ip("192.0.2.10"));
            });
    assertThat(v1.group).isSameAs(v2.group);
    assertThat(coordinator.sharedAddresses())
        .containsExactly(new AddressRecord.Entry("eth0", "192.0.2.10/24"));
  }

  @Test
  void membersWithOtherAddressesOrModeAreRefused() {
    LoadShare share = new LoadShare(Balancing.ARP, List.of(1, 2));
    CarpVhost other =
        new CarpVhost(link, new VhostSpec("eth0", 3, 1, 0, false, "pw", PREFIXES, share), true, 3);
    assertThatThrownBy(() -> coordinator.join(other, share))
        .hasMessageContaining("need the same addresses and mode");
  }

  @Test
  void startInstallsRulesAndMacsBeforeTheAddresses() throws Exception {
    coordinator.start();
    assertThat(plane.macs).containsExactly("eth0 " + Balancing.IP.groupMac(1));
    assertThat(plane.last())
        .singleElement()
        .satisfies(
            g -> {
              assertThat(g.masters()).isEmpty();
              assertThat(g.nodeAddress()).isEqualTo(ip("192.0.2.1"));
            });
    assertThat(addresses.present).containsExactly("eth0 192.0.2.10/24");
    assertThat(actuator.recorded()).hasSize(1);
  }

  @Test
  void updatesFollowTheElectionsAndSkipWhatIsApplied() throws Exception {
    coordinator.start();
    master(v2);
    coordinator.update();
    actuator.shutdown();
    assertThat(plane.applied).hasSize(2);
    assertThat(plane.last().getFirst().masters()).containsExactly(2);
    coordinator.apply(); // nothing new
    assertThat(plane.applied).hasSize(2);
  }

  @Test
  void aFailedUpdateIsCountedAndRetried() throws Exception {
    coordinator.start();
    master(v1);
    plane.failures = 1;
    coordinator.update();
    actuator.shutdown();
    assertThat(metrics.loadShareUpdateErrors.get()).isEqualTo(1);
    assertThat(retries).hasSize(1);
    coordinator.apply(); // what the retry does on the worker
    assertThat(plane.last().getFirst().masters()).containsExactly(1);
  }

  @Test
  void noRetryOnceStopped() throws Exception {
    coordinator.start();
    master(v1);
    plane.failures = 1;
    stopped.set(true);
    coordinator.update();
    actuator.shutdown();
    assertThat(retries).isEmpty();
  }

  @Test
  void theLeaderAnnouncesTheGroupMacInIpModes() throws Exception {
    coordinator.start();
    assertThat(v1.group.announcedBy(v1)).isTrue();
    assertThat(v1.group.announcedBy(v2)).isFalse();
    master(v1);
    coordinator.announce(v1.group);
    assertThat(io.sent)
        .singleElement()
        .isEqualTo(
            AnnouncementFrames.gratuitousArp(
                NIC_MAC, Balancing.IP.groupMac(1), (Inet4Address) ip("192.0.2.10")));
  }

  @Test
  void inArpModeNobodyAnnouncesTheGroup() {
    CarpLink arpLink = new CarpLink("eth1", new RejectionCounters());
    LoadShare share = new LoadShare(Balancing.ARP, List.of(5, 6));
    CarpVhost v =
        new CarpVhost(
            arpLink, new VhostSpec("eth1", 5, 1, 0, false, "pw", PREFIXES, share), true, 5);
    coordinator.join(v, share);
    assertThat(v.group.announcedBy(v)).isFalse();
  }

  @Test
  void stopTakesAddressesOffThenRulesAndMacs() throws Exception {
    coordinator.start();
    coordinator.stop();
    assertThat(addresses.present).isEmpty();
    assertThat(plane.cleared).isTrue();
    assertThat(plane.macs).isEmpty();
  }

  @Test
  void groupsOfAFailedLinkOrARefusedVhidGo() {
    coordinator.removeOn(new CarpLink("eth9", new RejectionCounters()));
    assertThat(coordinator.isEmpty()).isFalse();
    coordinator.remove(v1.group);
    assertThat(coordinator.isEmpty()).isTrue();
    assertThat(coordinator.sharedAddresses()).isEqualTo(Set.of());
  }
}
