package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.carp.CarpCodec;
import dev.carpoperator.agent.carp.CarpHmac;
import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.engine.EngineFakes.FakeAddresses;
import dev.carpoperator.agent.engine.EngineFakes.FakeFrameIo;
import dev.carpoperator.agent.engine.EngineFakes.FakeNics;
import dev.carpoperator.agent.engine.EngineFakes.FakePlane;
import dev.carpoperator.agent.engine.EngineFakes.Nic;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The engine's loop on fakes: real threads and timers (the fast profile: a master-down of about 120
 * ms), fake NICs, frames, addresses and nftables.
 */
class CarpEngineTest {
  static final MacAddress NIC_MAC = MacAddress.parse("02:00:00:00:00:01");
  static final MacAddress PEER_MAC = MacAddress.parse("02:00:00:00:00:02");
  static final Inet4Address PEER_IP = (Inet4Address) InetAddress.ofLiteral("192.0.2.2");
  static final String VIP = "192.0.2.10/24";

  final FakeNics nics = new FakeNics();
  final Nic eth0 = nics.add("eth0", NIC_MAC, "192.0.2.1");
  final FakeAddresses addresses = new FakeAddresses();
  final FakePlane plane = new FakePlane();
  final Map<String, FakeFrameIo> ios = new ConcurrentHashMap<>();
  final List<String> changes = new CopyOnWriteArrayList<>();
  final List<Integer> demotions = new CopyOnWriteArrayList<>();
  final List<String> reclaims = new CopyOnWriteArrayList<>();
  CarpEngine engine;

  static VhostSpec fast(int vhid, int advskew, String... prefixes) {
    return new VhostSpec("eth0", vhid, 0, advskew, true, "pw", List.of(prefixes));
  }

  CarpEngine engine(boolean preempt, List<VhostSpec> specs) {
    engine =
        new CarpEngine(
            "fw1",
            preempt,
            true,
            0,
            specs,
            new CarpEngine.Ports(
                addresses,
                ifName -> ios.computeIfAbsent(ifName, n -> new FakeFrameIo()),
                plane,
                nics,
                (ifName, peer) -> PEER_MAC),
            System::nanoTime);
    engine.addListener(
        new EngineListener() {
          @Override
          public void stateChanged(StateChange c) {
            changes.add(c.vhid() + " " + c.to() + " " + c.reason());
          }

          @Override
          public void demotionChanged(int advertised) {
            demotions.add(advertised);
          }

          @Override
          public void reclaimed(String interfaceName, int vhid) {
            reclaims.add(interfaceName + " " + vhid);
          }
        });
    return engine;
  }

  @AfterEach
  void close() {
    if (engine != null) engine.close();
  }

  FakeFrameIo io() {
    return ios.get("eth0");
  }

  List<FrameParser.Packet> adverts() {
    return io().sent.stream()
        .map(FrameParser::parse)
        .filter(r -> r instanceof FrameParser.Packet p && p.protocol() == CarpFrames.IPPROTO_CARP)
        .map(r -> (FrameParser.Packet) r)
        .toList();
  }

  /** An advert of the peer for vhid 1 with the given advskew (fast profile: advbase 0). */
  static byte[] peerAdvert(int advskew) {
    CarpHmac hmac = CarpHmac.of("pw", 1, List.of(InetAddress.ofLiteral("192.0.2.10")));
    return CarpFrames.ipv4Multicast(
        PEER_MAC, PEER_IP, CarpCodec.encode(1, advskew, 0, 0, 99, hmac));
  }

  @Test
  void aloneItBecomesMasterTakesTheAddressAndAdvertises() throws Exception {
    engine(true, List.of(fast(1, 10, VIP))).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.MASTER);
    await().atMost(Duration.ofSeconds(5)).until(() -> addresses.present.contains("eth0 " + VIP));
    await().atMost(Duration.ofSeconds(5)).until(() -> adverts().size() >= 2);
    assertThat(adverts().getFirst().srcMac()).isEqualTo(MacAddress.virtual(1));
    assertThat(adverts().getFirst().src()).isEqualTo(InetAddress.ofLiteral("192.0.2.1"));
    assertThat(changes).startsWith("1 BACKUP startup", "1 MASTER master-down-timeout");
    assertThat(engine.vhostKeys()).containsExactly("eth0/1");
    assertThat(nics.joins).containsExactly("eth0 v4");

    engine.close();
    assertThat(addresses.present).isEmpty();
    assertThat(adverts().getLast().payload()[5] & 0xff).isEqualTo(255); // the bow-out
    assertThat(io().closed).isTrue();
    assertThat(nics.left).containsExactly("eth0 v4");
  }

  @Test
  void aBetterMasterKeepsItBackupAndBadFramesAreCountedByReason() throws Exception {
    engine(true, List.of(fast(1, 200, VIP))).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.BACKUP);
    long end = System.nanoTime() + 2_000_000_000L;
    while (System.nanoTime() < end) {
      io().deliver(peerAdvert(20));
      Thread.sleep(30);
    }
    assertThat(engine.state("eth0", 1)).isEqualTo(CarpState.BACKUP);
    assertThat(addresses.present).isEmpty();
    assertThat(engine.metrics().advertsReceived.labelValues("eth0", "1").get()).isPositive();

    byte[] bad = peerAdvert(20);
    bad[14 + 10] ^= 0x5a; // IPv4 header checksum
    io().deliver(bad);
    io().deliver(new byte[5]);
    assertThat(engine.metrics().framesDropped.labelValues("ipv4_bad_checksum").get()).isEqualTo(1);
    assertThat(engine.metrics().framesDropped.labelValues("frame_too_short").get()).isEqualTo(1);
    byte[] routed = CarpFrames.ipv4Multicast(PEER_MAC, PEER_IP, new byte[36]);
    io().deliver(routed); // TTL 255 but garbage: a bad checksum
    assertThat(engine.rejected("eth0", RejectReason.BAD_CHECKSUM)).isEqualTo(1);
    assertThat(engine.rejected("nosuch0", RejectReason.BAD_CHECKSUM)).isZero();
  }

  @Test
  void aWorseMasterIsPreempted() throws Exception {
    engine(true, List.of(fast(1, 20, VIP))).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.BACKUP);
    io().deliver(peerAdvert(200));
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.MASTER);
    assertThat(changes).contains("1 MASTER preempt");
  }

  /**
   * A master that hears a worse master stays master, tells its listeners (the sync relaxes the
   * window checks of its own connections) and announces the address again.
   */
  @Test
  void aMasterHearingAWorseMasterReclaimsAndAnnouncesAgain() throws Exception {
    engine(true, List.of(fast(1, 20, VIP))).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.MASTER);
    // the takeover's announcement and the delayed one (second advert) are out
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> arpFrames() == 2 * AddressActuator.ANNOUNCE_BURST);
    assertThat(reclaims).isEmpty();
    io().deliver(peerAdvert(200));
    await().atMost(Duration.ofSeconds(5)).until(() -> reclaims.equals(List.of("eth0 1")));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> arpFrames() >= 3 * AddressActuator.ANNOUNCE_BURST);
    assertThat(engine.state("eth0", 1)).isEqualTo(CarpState.MASTER);
    assertThat(changes).doesNotContain("1 BACKUP higher-priority-master");
  }

  /** Gratuitous ARPs sent so far. */
  long arpFrames() {
    return io().sent.stream()
        .filter(f -> f.length > 13 && (f[12] & 0xff) == 0x08 && (f[13] & 0xff) == 0x06)
        .count();
  }

  @Test
  void linkDownGoesToInitAndDemotes() throws Exception {
    engine(true, List.of(fast(1, 10, VIP))).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.MASTER);
    eth0.carrier = false;
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.INIT);
    assertThat(engine.metrics().demotion.get()).isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> addresses.present.isEmpty());
    eth0.carrier = true;
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.MASTER);
    assertThat(engine.metrics().demotion.get()).isZero();
    // listeners (the status report) hear each change of the advertised demotion, once
    assertThat(demotions).endsWith(1, 0);
    for (int i = 1; i < demotions.size(); i++)
      assertThat(demotions.get(i)).isNotEqualTo(demotions.get(i - 1));
  }

  /**
   * A failing health check demotes only its own vhid: the master advertises the demotion at once
   * and yields to a peer that is less preferred but not demoted; the other vhid and the node-wide
   * demotion are untouched.
   */
  @Test
  void aHealthCheckDemotesOnlyItsOwnVhidAndItsMasterYields() throws Exception {
    engine(true, List.of(fast(1, 10, VIP), fast(2, 10, "192.0.2.11/24"))).start();
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.MASTER);
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 2) == CarpState.MASTER);
    int sentBefore = adverts().size();

    engine.setCheckDemotion(1, 7);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                adverts().stream()
                    .skip(sentBefore)
                    .anyMatch(p -> (p.payload()[1] & 0xff) == 1 && (p.payload()[4] & 0xff) == 7));
    assertThat(adverts().stream().skip(sentBefore))
        .filteredOn(p -> (p.payload()[1] & 0xff) == 2)
        .allMatch(p -> p.payload()[4] == 0);
    assertThat(engine.metrics().demotion.get()).isZero(); // node-wide: unchanged
    assertThat(demotions).doesNotContain(7);

    io().deliver(peerAdvert(200)); // slower, but not demoted: it wins vhid 1
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.BACKUP);
    assertThat(engine.state("eth0", 2)).isEqualTo(CarpState.MASTER);
    await().atMost(Duration.ofSeconds(5)).until(() -> !addresses.present.contains("eth0 " + VIP));
    assertThat(addresses.present).contains("eth0 192.0.2.11/24");
    assertThat(changes).contains("1 BACKUP demoted");

    engine.setCheckDemotion(1, 0); // passing again: preempt takes it back from the slower peer
    io().deliver(peerAdvert(200));
    await().atMost(Duration.ofSeconds(5)).until(() -> engine.state("eth0", 1) == CarpState.MASTER);
  }

  @Test
  void reconfigureTouchesOnlyWhatChanged() throws Exception {
    engine(true, List.of(fast(1, 10, VIP), fast(2, 10, "192.0.2.11/24"))).start();
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> addresses.present.contains("eth0 192.0.2.11/24"));
    int before = changes.size();
    engine.reconfigure(true, List.of(fast(1, 10, VIP), fast(3, 10, "192.0.2.12/24")));
    assertThat(engine.vhostKeys()).containsExactly("eth0/1", "eth0/3");
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> addresses.present.contains("eth0 192.0.2.12/24"));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> !addresses.present.contains("eth0 192.0.2.11/24"));
    assertThat(changes.subList(before, changes.size())).noneMatch(c -> c.startsWith("1 "));
    assertThatThrownBy(
            () ->
                engine.reconfigure(
                    true,
                    List.of(
                        new VhostSpec(
                            "eth0",
                            5,
                            0,
                            10,
                            true,
                            "pw",
                            List.of(VIP),
                            new LoadShare(Balancing.ARP, List.of(5, 6))))))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aVhidOnTheNodesAddressIsRefusedAndLeftoversComeOff() throws Exception {
    AddressRecord record = AddressRecord.inMemory();
    record.add("eth0", "192.0.2.99/24"); // left by an earlier run
    addresses.present.add("eth0 192.0.2.99/24");
    engine(true, List.of(fast(1, 10, "192.0.2.1/24"), fast(2, 10, VIP)));
    engine.recordAddressesIn(record);
    engine.start();
    assertThat(engine.vhostKeys()).containsExactly("eth0/2");
    assertThat(addresses.present).doesNotContain("eth0 192.0.2.99/24");
  }

  @Test
  void loadSharedGroupsInstallRulesFirstAndFollowTheElections() throws Exception {
    LoadShare share = new LoadShare(Balancing.IP, List.of(1, 2));
    engine(
            true,
            List.of(
                new VhostSpec("eth0", 1, 0, 10, true, "pw", List.of(VIP), share),
                new VhostSpec("eth0", 2, 0, 20, true, "pw", List.of(VIP), share)))
        .start();
    assertThat(plane.applied.getFirst().getFirst().masters()).isEmpty();
    assertThat(addresses.present).containsExactly("eth0 " + VIP);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> !plane.applied.isEmpty() && plane.last().getFirst().masters().size() == 2);
    engine.close();
    assertThat(plane.cleared).isTrue();
    assertThat(addresses.present).isEmpty();
  }
}
