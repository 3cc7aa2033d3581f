package dev.carpoperator.agent.engine;

import static dev.carpoperator.agent.engine.EngineFakes.ip;
import static dev.carpoperator.agent.engine.EngineFakes.ip4;
import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.carp.CarpEffect;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.engine.EngineFakes.FakeFrameIo;
import dev.carpoperator.agent.engine.EngineFakes.FakeNics;
import dev.carpoperator.agent.engine.plumbing.UnicastPeers;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdvertSenderTest {
  static final MacAddress NIC_MAC = MacAddress.parse("02:00:00:00:00:01");
  static final MacAddress PEER_MAC = MacAddress.parse("02:00:00:00:00:02");

  final FakeNics nics = new FakeNics();
  final LinkFacts facts = new LinkFacts(nics);
  final AgentMetrics metrics = new AgentMetrics(Map.of());
  final AdvertSender sender =
      new AdvertSender(
          facts,
          new UnicastPeers((ifName, peer) -> peer.equals(ip4("192.0.2.2")) ? PEER_MAC : null),
          metrics);
  final CarpLink link = new CarpLink("eth0", new RejectionCounters());
  final FakeFrameIo io = new FakeFrameIo();

  {
    nics.add("eth0", NIC_MAC, "192.0.2.1", "fe80::1");
    link.io = io;
    link.mac = NIC_MAC;
  }

  CarpVhost vhost(List<String> prefixes, List<String> peers) {
    CarpVhost v =
        new CarpVhost(
            link, new VhostSpec("eth0", 7, 1, 0, false, "pw", prefixes, null, peers), true, 1);
    link.vhosts.put(7, v);
    return v;
  }

  static final CarpEffect.SendAdvert ADVERT = new CarpEffect.SendAdvert(7, 1, 0, 0, 42);

  static FrameParser.Packet parse(byte[] f) {
    return (FrameParser.Packet) FrameParser.parse(f);
  }

  double sent() {
    return metrics.advertsSent.labelValues("eth0", "7").get();
  }

  double errors() {
    return metrics.sendErrors.labelValues("eth0").get();
  }

  @Test
  void ipv4AdvertsGoToTheGroupFromTheNicsOwnAddressAndTheVirtualMac() {
    CarpVhost v = vhost(List.of("192.0.2.10/24"), List.of());
    sender.send(v, ADVERT);
    FrameParser.Packet p = parse(io.sent.getFirst());
    assertThat(p.src()).isEqualTo(ip("192.0.2.1"));
    assertThat(p.dst()).isEqualTo(CarpFrames.CARP_GROUP_V4);
    assertThat(p.srcMac()).isEqualTo(MacAddress.virtual(7));
    assertThat(p.hopLimit()).isEqualTo(CarpFrames.TTL);
    assertThat(p.payload()).isEqualTo(ADVERT.encode(v.hmac));
    assertThat(sent()).isEqualTo(1);
  }

  @Test
  void ipv6AdvertsGoFromTheLinkLocalAddress() {
    CarpVhost v = vhost(List.of("2001:db8::10/64"), List.of());
    sender.send(v, ADVERT);
    assertThat(io.sent).hasSize(1);
    FrameParser.Packet p = parse(io.sent.getFirst());
    assertThat(p.src()).isEqualTo(ip("fe80::1"));
    assertThat(p.dst()).isEqualTo(CarpFrames.CARP_GROUP_V6);
  }

  @Test
  void unicastPeersGetTheirOwnFramesAndTheHostItselfNone() {
    facts.refreshLocalAddresses(); // 192.0.2.1 is this host
    CarpVhost v = vhost(List.of("192.0.2.10/24"), List.of("192.0.2.1", "192.0.2.2", "192.0.2.3"));
    sender.send(v, ADVERT);
    assertThat(io.sent).hasSize(1);
    FrameParser.Packet p = parse(io.sent.getFirst());
    assertThat(p.dst()).isEqualTo(ip("192.0.2.2"));
    assertThat(p.dstMac()).isEqualTo(PEER_MAC);
    // 192.0.2.3 has no MAC yet: a send error, while the other peer still got its advert
    assertThat(errors()).isEqualTo(1);
    assertThat(sent()).isZero();
  }

  @Test
  void ipStealthNeverSendsFromTheVirtualMac() {
    CarpVhost v = vhost(List.of("192.0.2.10/24"), List.of());
    new LoadShareCoordinator("n", null, null, facts, metrics, r -> {}, () -> false)
        .join(v, new LoadShare(Balancing.IP_STEALTH, List.of(7, 8)));
    sender.send(v, ADVERT);
    assertThat(parse(io.sent.getFirst()).srcMac()).isEqualTo(NIC_MAC);
  }

  @Test
  void withoutASourceAddressNothingIsSentAndTheErrorCounted() {
    nics.nics.clear();
    sender.send(vhost(List.of("192.0.2.10/24"), List.of()), ADVERT);
    sender.send(vhost(List.of("2001:db8::10/64"), List.of()), ADVERT);
    assertThat(io.sent).isEmpty();
    assertThat(errors()).isEqualTo(2);
  }

  @Test
  void aFailedSendIsCountedNotThrown() {
    io.failSends = true;
    sender.send(vhost(List.of("192.0.2.10/24"), List.of()), ADVERT);
    assertThat(errors()).isEqualTo(1);
  }
}
