package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.carp.AdvertValidator;
import dev.carpoperator.agent.carp.CarpCodec;
import dev.carpoperator.agent.carp.CarpHmac;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.carp.VhostKeys;
import dev.carpoperator.agent.engine.CarpReceivePipeline.Accepted;
import dev.carpoperator.agent.engine.CarpReceivePipeline.NotCarp;
import dev.carpoperator.agent.engine.CarpReceivePipeline.OwnFrame;
import dev.carpoperator.agent.engine.CarpReceivePipeline.Rejected;
import dev.carpoperator.agent.engine.CarpReceivePipeline.Unparsable;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CarpReceivePipelineTest {
  static final MacAddress OWN = MacAddress.parse("02:00:00:00:00:01");
  static final MacAddress PEER = MacAddress.parse("02:00:00:00:00:02");
  static final Inet4Address PEER_IP = (Inet4Address) InetAddress.ofLiteral("192.0.2.2");
  static final CarpHmac HMAC = CarpHmac.of("pw", 1, List.of(InetAddress.ofLiteral("192.0.2.10")));
  static final long COOKIE = 77;

  final RejectionCounters counters = new RejectionCounters();
  final CarpReceivePipeline pipeline =
      new CarpReceivePipeline(
          new AdvertValidator(v -> v == 1 ? new VhostKeys(HMAC, COOKIE) : null, counters), OWN);

  static byte[] advert(MacAddress from, long counter) {
    return CarpFrames.ipv4Multicast(from, PEER_IP, CarpCodec.encode(1, 100, 0, 1, counter, HMAC));
  }

  @Test
  void aValidAdvertIsAcceptedAndCounted() {
    var outcome = pipeline.receive(advert(PEER, 5));
    assertThat(outcome).isInstanceOf(Accepted.class);
    Accepted a = (Accepted) outcome;
    assertThat(a.advert().vhid()).isEqualTo(1);
    assertThat(a.advert().advskew()).isEqualTo(100);
    assertThat(a.packet().src()).isEqualTo(PEER_IP);
    assertThat(counters.accepted()).isEqualTo(1);
  }

  @Test
  void whatTheParserRefusesKeepsItsReasonAsTheLabel() {
    byte[] bad = advert(PEER, 5);
    bad[14 + 10] ^= 0x5a; // IPv4 header checksum
    assertThat(pipeline.receive(bad))
        .isEqualTo(new Unparsable(FrameParser.Reason.IPV4_BAD_CHECKSUM));
    assertThat(((Unparsable) pipeline.receive(bad)).label()).isEqualTo("ipv4_bad_checksum");
    byte[] arp = advert(PEER, 5);
    arp[12] = 0x08;
    arp[13] = 0x06;
    assertThat(((Unparsable) pipeline.receive(arp)).label()).isEqualTo("not_ip");
    assertThat(((Unparsable) pipeline.receive(new byte[3])).label()).isEqualTo("frame_too_short");
    assertThat(counters.accepted()).isZero();
    assertThat(counters.snapshot().values()).allMatch(n -> n == 0);
  }

  @Test
  void everyParserReasonHasALabelOfItsOwn() {
    Set<String> labels = new HashSet<>();
    for (FrameParser.Reason r : FrameParser.Reason.values()) labels.add(new Unparsable(r).label());
    assertThat(labels).hasSize(FrameParser.Reason.values().length).doesNotContain("error");
  }

  @Test
  void otherProtocolsAndOurOwnFramesAreLeftUncounted() {
    byte[] udp =
        CarpFrames.ipv4(
            PEER,
            MacAddress.CARP_IPV4_GROUP,
            PEER_IP,
            CarpFrames.CARP_GROUP_V4,
            1,
            17,
            new byte[8]);
    assertThat(pipeline.receive(udp)).isInstanceOf(NotCarp.class);
    assertThat(pipeline.receive(advert(OWN, 5))).isInstanceOf(OwnFrame.class);
    assertThat(counters.accepted()).isZero();
    assertThat(counters.snapshot().values()).allMatch(n -> n == 0);
  }

  @Test
  void withoutAKnownMacNothingIsTakenAsOwn() {
    var noMac =
        new CarpReceivePipeline(
            new AdvertValidator(v -> new VhostKeys(HMAC, COOKIE), new RejectionCounters()), null);
    assertThat(noMac.receive(advert(OWN, 5))).isInstanceOf(Accepted.class);
  }

  @Test
  void rejectionsKeepTheValidatorsReason() {
    byte[] routed = advert(PEER, 5);
    routed[14 + 8] = 64; // TTL
    routed[14 + 10] = routed[14 + 11] = 0;
    int c = dev.carpoperator.agent.carp.InternetChecksum.compute(routed, 14, 20);
    routed[14 + 10] = (byte) (c >>> 8);
    routed[14 + 11] = (byte) c;
    assertThat(pipeline.receive(routed))
        .isInstanceOfSatisfying(
            Rejected.class, r -> assertThat(r.reason()).isEqualTo(RejectReason.BAD_TTL));
    assertThat(pipeline.receive(advert(PEER, COOKIE)))
        .isInstanceOfSatisfying(
            Rejected.class, r -> assertThat(r.reason()).isEqualTo(RejectReason.LOOP));
    assertThat(counters.rejected(RejectReason.BAD_TTL)).isEqualTo(1);
    assertThat(counters.rejected(RejectReason.LOOP)).isEqualTo(1);
  }

  @Test
  void neverThrowsOnTruncations() {
    byte[] good = advert(PEER, 5);
    for (int n = 0; n <= good.length; n++)
      assertThat(pipeline.receive(Arrays.copyOf(good, n))).isNotNull();
  }

  @Test
  void everyRejectionHasAHint() {
    for (RejectReason r : RejectReason.values())
      assertThat(CarpReceivePipeline.hint(r)).as(r.name()).isNotBlank();
  }
}
