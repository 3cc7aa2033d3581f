package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.net.FrameParser.Packet;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two Java processes in two lab hosts: A sends with PcapFrameIo, B captures with PcapFrameIo + BPF.
 */
class PcapFrameIoNetnsTest {

  @Test
  void carpFramesCrossTheSwitchIntact() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a");
      NetnsLab.Host b = lab.addHost("b");
      int rounds = 3;
      // BPF passes proto-112 only: per round one corrupt IPv4, one IPv4, one IPv6; the ARP is
      // filtered out
      LabProcess capture =
          b.startJava("capture", PcapCaptureMain.class, "eth0", String.valueOf(3 * rounds));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> capture.output().contains("READY") || !capture.isAlive());
      assertThat(capture.isAlive()).as(capture.output()).isTrue();

      LabProcess send = a.startJava("send", PcapSendMain.class, "eth0", String.valueOf(rounds));
      assertThat(send.waitFor(Duration.ofSeconds(60))).as(send.output()).isZero();
      assertThat(send.output()).contains("OWN 0").contains("sendFailures=0").contains("CLOSED");

      assertThat(capture.waitFor(Duration.ofSeconds(60))).as(capture.output()).isZero();
      String out = capture.output();
      assertThat(out).contains("ALL true").contains("receiverFailures=1").contains("CLOSED");

      List<FrameParser.Result> results =
          out.lines()
              .filter(l -> l.startsWith("FRAME "))
              .map(l -> FrameParser.parse(HexFormat.of().parseHex(l.substring(6))))
              .toList();
      assertThat(results).hasSize(3 * rounds);
      assertThat(results)
          .filteredOn(r -> r instanceof FrameParser.Rejected)
          .extracting(r -> ((FrameParser.Rejected) r).reason())
          .containsOnly(FrameParser.Reason.IPV4_BAD_CHECKSUM)
          .hasSize(rounds);

      List<Packet> packets =
          results.stream().filter(r -> r instanceof Packet).map(r -> (Packet) r).toList();
      assertThat(packets)
          .hasSize(2 * rounds)
          .allSatisfy(
              p -> {
                assertThat(p.hopLimit()).isEqualTo(255);
                assertThat(p.protocol()).isEqualTo(112);
                assertThat(p.srcMac()).isEqualTo(MacAddress.virtual(7));
                assertThat(p.payload()).isEqualTo(FramesTest.carpPayload());
              });
      assertThat(packets)
          .filteredOn(p -> p.family() == FrameParser.Family.IPV4)
          .hasSize(rounds)
          .allSatisfy(
              p -> {
                assertThat(p.dstMac()).isEqualTo(MacAddress.CARP_IPV4_GROUP);
                assertThat(p.src()).isEqualTo(InetAddress.getByName("192.0.2.1"));
                assertThat(p.dst()).isEqualTo(CarpFrames.CARP_GROUP_V4);
              });
      assertThat(packets)
          .filteredOn(p -> p.family() == FrameParser.Family.IPV6)
          .hasSize(rounds)
          .allSatisfy(
              p -> {
                assertThat(p.dstMac()).isEqualTo(MacAddress.CARP_IPV6_GROUP);
                assertThat(p.dst()).isEqualTo(CarpFrames.CARP_GROUP_V6);
              });
    }
  }

  @Test
  void receptionSurvivesALinkFlap() throws Exception {
    flapAndResend(false);
  }

  /**
   * Deleting and recreating eth0 makes the old capture fail (ENODEV): the handle must be reopened
   * by name.
   */
  @Test
  void receptionSurvivesInterfaceRecreation() throws Exception {
    assertThat(flapAndResend(true)).doesNotContain("loopErrors=0"); // at least one reopen
  }

  private String flapAndResend(boolean recreate) throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a");
      NetnsLab.Host b = lab.addHost("b");
      // one round = 3 frames through the BPF; expect one round before and one after the flap
      LabProcess capture = b.startJava("capture", PcapCaptureMain.class, "eth0", "6");
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> capture.output().contains("READY") || !capture.isAlive());
      LabProcess first = a.startJava("send1", PcapSendMain.class, "eth0", "1");
      assertThat(first.waitFor(Duration.ofSeconds(60))).as(first.output()).isZero();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> capture.output().lines().filter(l -> l.startsWith("FRAME ")).count() == 3);

      if (recreate) {
        lab.execOnSwitch("ip", "link", "del", b.switchPort()).check();
        Thread.sleep(500); // give the capture time to fail; not a timing assertion
        lab.execOnSwitch(
                "ip",
                "link",
                "add",
                b.switchPort(),
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                b.namespace())
            .check();
        lab.execOnSwitch("ip", "link", "set", b.switchPort(), "master", NetnsLab.BRIDGE, "up")
            .check();
        b.exec("ip", "link", "set", "eth0", "up").check();
      } else {
        b.cut(NetnsLab.Side.HOST);
        Thread.sleep(
            500); // let the capture notice (or not) that eth0 is down; not a timing assertion
        b.restore(NetnsLab.Side.HOST);
      }

      // resend until the capture has its 6 frames: the reopen (if any) takes a moment
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                if (!capture.isAlive()) {
                  return true;
                }
                a.startJava("send2", PcapSendMain.class, "eth0", "1")
                    .waitFor(Duration.ofSeconds(60));
                return !capture.isAlive();
              });
      assertThat(capture.waitFor(Duration.ofSeconds(30))).as(capture.output()).isZero();
      assertThat(capture.output()).contains("ALL true");
      String stats =
          capture.output().lines().filter(l -> l.startsWith("STATS")).findFirst().orElseThrow();
      System.out.println((recreate ? "recreate: " : "flap: ") + stats);
      return stats;
    }
  }
}
