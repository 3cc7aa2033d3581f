package dev.carpoperator.agent.engine;

import static dev.carpoperator.agent.engine.EngineFakes.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.engine.EngineFakes.FakeAddresses;
import dev.carpoperator.agent.engine.EngineFakes.FakeFrameIo;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.AnnouncementFrames;
import dev.carpoperator.agent.net.MacAddress;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AddressActuatorTest {
  static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");

  final FakeAddresses addresses = new FakeAddresses();
  final AgentMetrics metrics = new AgentMetrics(Map.of());
  final AddressActuator actuator = new AddressActuator(addresses, metrics);
  final CarpLink link = new CarpLink("eth0", new RejectionCounters());
  final FakeFrameIo io = new FakeFrameIo();
  final CarpVhost v =
      new CarpVhost(
          link,
          new VhostSpec("eth0", 1, 1, 0, false, "pw", List.of("192.0.2.10/24", "2001:db8::10/64")),
          true,
          1);

  {
    link.io = io;
    link.mac = MAC;
    link.vhosts.put(1, v);
  }

  @AfterEach
  void stop() {
    actuator.shutdown();
  }

  @Test
  void takeOverRecordsAddsAndAnnounces() {
    link.linkLocalV6 = (Inet6Address) ip("fe80::1");
    actuator.takeOver(v);
    assertThat(addresses.present)
        .containsExactlyInAnyOrder("eth0 192.0.2.10/24", "eth0 2001:db8::10/64");
    assertThat(actuator.recorded())
        .containsExactlyInAnyOrder(
            new AddressRecord.Entry("eth0", "192.0.2.10/24"),
            new AddressRecord.Entry("eth0", "2001:db8::10/64"));
    byte[] arp = AnnouncementFrames.gratuitousArp(MAC, (Inet4Address) ip("192.0.2.10"));
    byte[] na =
        AnnouncementFrames.unsolicitedNa(
            MAC, (Inet6Address) ip("fe80::1"), (Inet6Address) ip("2001:db8::10"), false);
    assertThat(io.sent).hasSize(2 * AddressActuator.ANNOUNCE_BURST);
    for (int i = 0; i < AddressActuator.ANNOUNCE_BURST; i++) {
      assertThat(io.sent.get(2 * i)).isEqualTo(arp);
      assertThat(io.sent.get(2 * i + 1)).isEqualTo(na);
    }
  }

  @Test
  void withoutALinkLocalAddressTheNaGoesFromTheVirtualOne() {
    actuator.announce(v);
    assertThat(io.sent.get(1))
        .isEqualTo(
            AnnouncementFrames.unsolicitedNa(
                MAC, (Inet6Address) ip("2001:db8::10"), (Inet6Address) ip("2001:db8::10"), false));
  }

  @Test
  void aFailedAnnouncementIsNoFailedTakeOver() {
    io.failSends = true;
    actuator.takeOver(v);
    assertThat(addresses.present).hasSize(2);
    assertThat(metrics.addressChangeErrors.labelValues("add").get()).isZero();
  }

  @Test
  void releaseRemovesOnlyWhatWasAdded() throws Exception {
    addresses.present.add("eth0 2001:db8::10/64"); // the host's, not ours
    actuator.addRecorded("eth0", "192.0.2.10/24");
    actuator.release(v);
    assertThat(addresses.present).containsExactly("eth0 2001:db8::10/64");
    assertThat(addresses.calls).doesNotContain("remove eth0 2001:db8::10/64");
    assertThat(actuator.recorded()).isEmpty();
  }

  @Test
  void failedChangesAreCountedByOperation() {
    addresses.fail = true;
    actuator.takeOver(v);
    assertThat(metrics.addressChangeErrors.labelValues("add").get()).isEqualTo(1);
    actuator.release(v); // the first address is recorded: its removal fails
    assertThat(metrics.addressChangeErrors.labelValues("remove").get()).isEqualTo(1);
    assertThat(io.sent).isEmpty();
  }

  @Test
  void anUnwritableRecordStillAddsTheAddressAndSaysSo(@TempDir Path dir) throws Exception {
    actuator.recordIn(AddressRecord.open(dir.resolve("sub").resolve("addresses")));
    Files.writeString(dir.resolve("sub"), ""); // a file where the record's directory should be
    actuator.addRecorded("eth0", "192.0.2.10/24");
    assertThat(addresses.present).containsExactly("eth0 192.0.2.10/24");
    assertThat(metrics.addressChangeErrors.labelValues("record").get()).isEqualTo(1);
    actuator.releaseRecorded("eth0", "192.0.2.10/24"); // this run still knows it
    assertThat(addresses.present).isEmpty();
  }

  @Test
  void removeRecordedLeavesUnknownAddresses() throws Exception {
    addresses.present.add("eth0 192.0.2.10/24");
    actuator.removeRecorded("eth0", "192.0.2.10/24");
    assertThat(addresses.calls).isEmpty();
    actuator.addRecorded("eth0", "192.0.2.10/24");
    actuator.removeRecorded("eth0", "192.0.2.10/24");
    assertThat(addresses.present).isEmpty();
    assertThat(actuator.recorded()).isEmpty();
  }

  @Test
  void leftoversComeOffExceptTheKeptOnesAndThoseOfVanishedNics() throws Exception {
    AddressRecord record = AddressRecord.inMemory();
    record.add("eth0", "192.0.2.10/24");
    record.add("eth0", "192.0.2.20/24");
    record.add("gone0", "198.51.100.1/24");
    actuator.recordIn(record);
    addresses.present.addAll(Set.of("eth0 192.0.2.10/24", "eth0 192.0.2.20/24"));
    actuator.removeLeftovers(
        Set.of(new AddressRecord.Entry("eth0", "192.0.2.20/24")), ifName -> ifName.equals("eth0"));
    assertThat(addresses.present).containsExactly("eth0 192.0.2.20/24");
    assertThat(addresses.calls).containsExactly("remove eth0 192.0.2.10/24");
    assertThat(actuator.recorded())
        .containsExactly(new AddressRecord.Entry("eth0", "192.0.2.20/24"));
  }

  @Test
  void aLeftoverThatCannotBeRemovedStaysRecorded() throws Exception {
    actuator.addRecorded("eth0", "192.0.2.10/24");
    actuator.removeLeftovers(
        Set.of(),
        ifName -> {
          throw new IOException("cannot list");
        });
    assertThat(actuator.recorded()).hasSize(1);
  }

  @Test
  void theWorkerRunsTasksInOrder() throws Exception {
    List<Integer> order = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int i = 0; i < 5; i++) {
      int n = i;
      actuator.execute(() -> order.add(n));
    }
    actuator.shutdown();
    assertThat(order).containsExactly(0, 1, 2, 3, 4);
  }
}
