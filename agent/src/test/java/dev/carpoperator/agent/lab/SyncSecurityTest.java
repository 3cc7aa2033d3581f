package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.agent.net.PcapFrameIo;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.StateMapper;
import dev.carpoperator.agent.sync.SyncEnvelope;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state sync's defences and metrics with real agents (issue #5: "spoofed or replayed sync
 * messages in authenticated mode are dropped and counted"; "metrics show states sent, received,
 * applied, rejected, and the bulk-update progress").
 *
 * <p>One switch per test: agents {@code a} and {@code b} sync over {@code eth0} (multicast
 * 224.0.0.240), and host {@code x}, with no agent, plays the attacker on the same link: it captures
 * the sync traffic and sends crafted frames ({@link FramesMain}, raw frames through pcap).
 * Connections are made with {@code conntrack -I} in a's namespace (the agent's event listener hears
 * changes by other processes) and read back with {@code conntrack -L}; the agents' counters are
 * scraped from their /metrics. Every check compares counter deltas and table contents. The
 * authenticated test adds agent {@code c} with another key; the bsd-compatible test shows what the
 * envelope protects from (an attacker's INS and DEL_C are applied there).
 *
 * <p>The conntrack entries are TCP 198.51.100.10:port → 203.0.113.10:443, ESTABLISHED; no packet of
 * them is ever sent, so no ruleset is needed and the tables hold only what the test writes.
 *
 * <p>a's table at b's bulk update is larger than one packet on purpose: a bulk of at most five
 * states (one packet) goes out with its BUS section (START and END) before the UPD section, since
 * {@code PfsyncPacketBuilder} groups by action in the order first added, so the receiver reaches
 * DONE before it imports them and counts no bulk states ({@code carp_sync_bulk_states_received}
 * stays 0, the log says "0 states"). Reported, not worked around otherwise.
 */
class SyncSecurityTest {
  private static final Logger log = LoggerFactory.getLogger(SyncSecurityTest.class);
  static final int METRICS_PORT = 9402;
  static final String CLIENT = "198.51.100.10";
  static final String SERVER = "203.0.113.10";
  static final int DPORT = 443;
  static final String KEY = "sync-security-lab-key-0123456789abcdef";
  static final String OTHER_KEY = "not-the-same-key-0123456789abcdefghi";
  static final Inet4Address GROUP = ipv4(Pfsync.GROUP_V4);
  static final Duration WAIT = Duration.ofSeconds(30);
  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{[^}]*})?) (\\S+)$");
  private static final HexFormat HEX = HexFormat.of();

  // metric names as the exposition shows them
  static final String SENT = "carp_sync_states_sent_total";
  static final String RECEIVED = "carp_sync_states_received_total";
  static final String APPLIED = "carp_sync_states_applied_total";
  static final String PACKETS_SENT = "carp_sync_packets_sent_total";
  static final String PACKETS_RECEIVED = "carp_sync_packets_received_total";
  static final String BULK_RECEIVED = "carp_sync_bulk_states_received_total";
  static final String BULK_SENT = "carp_sync_bulk_states_sent_total";
  static final String TABLE = "carp_sync_table_states";

  static String rejected(String reason) {
    return "carp_sync_packets_rejected_total{reason=\"" + reason + "\"}";
  }

  static String bulk(String state) {
    return "carp_sync_bulk_state{state=\"" + state + "\"}";
  }

  @Test
  void authenticatedSyncDropsAndCountsReplayedForgedAndUnauthenticatedPackets() throws Exception {
    try (AgentLab l = new AgentLab()) {
      l.hosts("a", "b", "x", "c"); // 192.0.2.11 .. .14
      writeKey(l, "sync.key", KEY);
      writeKey(l, "other.key", OTHER_KEY);
      NetnsLab.Host a = l.lab.host("a");
      NetnsLab.Host b = l.lab.host("b");
      NetnsLab.Host x = l.lab.host("x");
      NetnsLab.Host c = l.lab.host("c");
      LabProcess capture = x.startJava("capture", FramesMain.class, "capture", NetnsLab.HOST_IF);

      // a's table before its agent starts (taken from the start-up dump), more than one packet's
      // worth (5 states fit
      // one): see the class comment
      List<Integer> early = List.of(40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008);
      for (int port : early) insert(a, port);
      // a alone first; its own bulk request goes unanswered and it gives up at the first retry, 2 s
      // in (so it does not
      // ask b later)
      l.startAgent("a", agentConfig("a", 1, "192.0.2.100", authenticatedSync("sync.key", 0xa1, 1)));
      awaitMetric(
          l, a, bulk("timed_out"), v -> v == 1, "a's bulk request unanswered (alone on the link)");
      awaitOutput(capture, "READY", "the attacker's capture");

      // 1. b joins: a's table arrives by bulk update
      l.startAgent(
          "b", agentConfig("b", 1, "192.0.2.100", authenticatedSync("sync.key", 0xb2, 10)));
      awaitMetric(l, b, bulk("done"), v -> v == 1, "b's bulk update done");
      assertThat(ports(b)).as("b's conntrack after its bulk update").containsAll(early);
      Map<String, Double> a0 = metrics(a);
      Map<String, Double> b0 = metrics(b);
      assertThat(b0.get(BULK_RECEIVED))
          .as("b's bulk states received " + sync(b0))
          .isEqualTo(early.size());
      assertThat(a0.get(BULK_SENT)).as("a's bulk states sent " + sync(a0)).isEqualTo(early.size());
      assertThat(b0.get(TABLE)).as("states b's sync tracks").isGreaterThanOrEqualTo(early.size());
      log.info("after b's bulk update: a {} / b {}", sync(a0), sync(b0));

      // live sync of new connections
      List<Integer> live = List.of(40011, 40012, 40013);
      for (int port : live) insert(a, port);
      awaitPorts(l, b, p -> p.containsAll(live), "a's new connections " + live + " synced to b");
      Map<String, Double> a1 = metrics(a);
      Map<String, Double> b1 =
          awaitMetric(
              l, b, APPLIED, v -> v - b0.get(APPLIED) >= live.size(), "b applied the live states");
      assertThat(delta(a0, a1, SENT))
          .as("a's states sent for " + live.size() + " new connections")
          .isGreaterThanOrEqualTo(live.size());
      assertThat(delta(a0, a1, PACKETS_SENT)).as("a's sync packets sent").isPositive();
      assertThat(delta(b0, b1, RECEIVED))
          .as("b's states received")
          .isGreaterThanOrEqualTo(live.size());
      assertThat(delta(b0, b1, APPLIED))
          .as("b's states applied")
          .isGreaterThanOrEqualTo(live.size());
      assertThat(delta(b0, b1, PACKETS_RECEIVED)).as("b's sync packets received").isPositive();
      assertThat(rejections(b1)).as("b's rejections before any attack").isEmpty();
      log.info("live sync of {} connections: a {} / b {}", live.size(), sync(a1), sync(b1));

      // 2. replay: the attacker resends a's captured frame that inserted 40011, after 40011 left
      // b's table
      byte[] original = frameWithIns(capture, "192.0.2.11", 40011);
      FrameParser.Packet op = (FrameParser.Packet) FrameParser.parse(original);
      int hlen = u16(original, op.payloadOffset() + 2);
      assertThat(op.payloadLength())
          .as("authenticated sync packet: pfsync len + the 64-byte trailer")
          .isEqualTo(hlen + SyncEnvelope.BASE_TRAILER_LENGTH);
      assertThat(new String(original, op.payloadOffset() + hlen, 4, StandardCharsets.US_ASCII))
          .isEqualTo("CSYN");
      // Each new connection is announced once more 2 s after its INS (the follow-up UPD_C that
      // repairs a peer which missed the INS): let those reach b first, or the one of 40011 would
      // rightly bring back the copy deleted below, and look like the replay's doing.
      awaitMetric(
          l,
          b,
          RECEIVED,
          v -> v - b0.get(RECEIVED) >= 2 * live.size(),
          "b received the follow-ups of a's new connections");
      double tracked = metrics(b).get(TABLE);
      b.exec(
              "conntrack",
              "-D",
              "-p",
              "tcp",
              "-s",
              CLIENT,
              "-d",
              SERVER,
              "--sport",
              "40011",
              "--dport",
              String.valueOf(DPORT))
          .check();
      assertThat(ports(b)).as("b's conntrack after conntrack -D").doesNotContain(40011);
      // b's agent hears the deletion: it forgets the state (and does not announce it: a created it)
      Map<String, Double> b2 =
          awaitMetric(l, b, TABLE, v -> v < tracked, "b's sync forgot the deleted state");
      send(l, x, "replay", List.of(new Labelled("replay of a's INS 40011", original)));
      Map<String, Double> b3 =
          awaitMetric(
              l,
              b,
              rejected("replay"),
              v -> v - b2.getOrDefault(rejected("replay"), 0.0) >= 1,
              "b counted the replay");
      assertThat(delta(b2, b3, rejected("replay"))).as("replays counted by b").isEqualTo(1);
      try {
        await()
            .during(Duration.ofSeconds(1))
            .atMost(Duration.ofSeconds(3))
            .pollInterval(Duration.ofMillis(100))
            .until(() -> !ports(b).contains(40011));
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "the replayed INS brought 40011 back into b's conntrack\n" + l.logTails(), e);
      }
      Map<String, Double> b4 = metrics(b);
      for (String m : List.of(RECEIVED, APPLIED, PACKETS_RECEIVED))
        assertThat(delta(b2, b4, m)).as("b's " + m + " after the replay").isZero();
      assertThat(ports(b)).as("b's other states").containsAll(early).contains(40012, 40013);
      assertThat(ports(a))
          .as("a keeps 40011 (b did not announce the deletion of a's state)")
          .contains(40011);
      log.info(
          "replay: b rejected {} (replay +{}), states received +{}",
          rejections(b4),
          delta(b2, b4, rejected("replay")),
          delta(b2, b4, RECEIVED));

      // 3. forged and unauthenticated packets, then a correctly sealed one as the positive control
      MacAddress xMac = MacAddress.parse(x.mac());
      Inet4Address xIp = ipv4("192.0.2.13");
      byte[] flipped = original.clone();
      flipped[op.payloadOffset() + hlen - 1] ^=
          0x01; // last byte of the pfsync body: no IP checksum involved
      byte[] spoofedSource = original.clone(); // a's sealed payload from the attacker's address
      System.arraycopy(xIp.getAddress(), 0, spoofedSource, 14 + 12, 4);
      fixIpChecksum(spoofedSource);
      byte[] plainIns = ins(40021, 0x5eed0001L, 0x5eed);
      byte[] lowTtl = withTtl(frame(xMac, xIp, ins(40022, 0x5eed0002L, 0x5eed)), 64);
      SyncEnvelope rightKey = new SyncEnvelope(KEY.getBytes(StandardCharsets.US_ASCII), false);
      byte[] freebsdSealed =
          rightKey.seal(freebsd(ins(40024, 0x5eed0004L, 0x5eed)), xIp.getAddress());
      byte[] goodSealed = rightKey.seal(ins(40023, 0x5eed0003L, 0x5eed), xIp.getAddress());
      send(
          l,
          x,
          "forged",
          List.of(
              new Labelled("a's frame with one bit flipped in the pfsync body", flipped),
              new Labelled("a's sealed payload from the attacker's IP address", spoofedSource),
              new Labelled("plain pfsync INS 40021, TTL 255", frame(xMac, xIp, plainIns)),
              new Labelled("plain pfsync INS 40022, TTL 64", lowTtl),
              new Labelled(
                  "FreeBSD v5 header sealed with the right key", frame(xMac, xIp, freebsdSealed)),
              new Labelled(
                  "control: INS 40023 sealed with the right key", frame(xMac, xIp, goodSealed))));
      awaitPorts(
          l,
          b,
          p -> p.contains(40023),
          "the correctly sealed INS 40023 (control, sent last) applied by b");
      Map<String, Double> b5 = metrics(b);
      assertThat(delta(b4, b5, rejected("bad_tag")))
          .as("bad_tag: bit flip + spoofed source " + rejections(b5))
          .isEqualTo(2);
      assertThat(delta(b4, b5, rejected("unauthenticated")))
          .as("unauthenticated " + rejections(b5))
          .isEqualTo(1);
      assertThat(delta(b4, b5, rejected("bad_ttl"))).as("bad_ttl " + rejections(b5)).isEqualTo(1);
      assertThat(delta(b4, b5, rejected("freebsd_version")))
          .as("freebsd_version (after authentication) " + rejections(b5))
          .isEqualTo(1);
      assertThat(delta(b4, b5, rejected("replay")))
          .as("no further replay " + rejections(b5))
          .isZero();
      assertThat(delta(b4, b5, PACKETS_RECEIVED))
          .as("packets b accepted: the control only")
          .isEqualTo(1);
      assertThat(delta(b4, b5, RECEIVED))
          .as("states b received: the control's INS only")
          .isEqualTo(1);
      assertThat(delta(b4, b5, APPLIED))
          .as("states b applied: the control's INS only")
          .isEqualTo(1);
      assertThat(ports(b))
          .as("b's conntrack after the forged packets")
          .doesNotContain(40011, 40021, 40022, 40024);
      log.info(
          "forged: b rejected {} (+bad_tag {}, +unauthenticated {}, +bad_ttl {}, +freebsd_version {}), accepted +{} packet",
          rejections(b5),
          delta(b4, b5, rejected("bad_tag")),
          delta(b4, b5, rejected("unauthenticated")),
          delta(b4, b5, rejected("bad_ttl")),
          delta(b4, b5, rejected("freebsd_version")),
          delta(b4, b5, PACKETS_RECEIVED));

      // a third agent with another key: its bulk request and its INS fail authentication at b
      l.startAgent(
          "c", agentConfig("c", 2, "192.0.2.101", authenticatedSync("other.key", 0xc3, 1)));
      awaitMetric(
          l,
          c,
          bulk("timed_out"),
          v -> v == 1,
          "c's bulk request unanswered (nobody shares its key)");
      Map<String, Double> b6 =
          awaitMetric(
              l,
              b,
              rejected("bad_tag"),
              v -> v - b5.get(rejected("bad_tag")) >= 1,
              "b rejected c's bulk request");
      Map<String, Double> c0 = metrics(c);
      insert(c, 40031);
      Map<String, Double> b7 =
          awaitMetric(
              l,
              b,
              rejected("bad_tag"),
              v -> v - b6.get(rejected("bad_tag")) >= 1,
              "b rejected c's INS of 40031");
      Map<String, Double> c1 = metrics(c);
      assertThat(delta(c0, c1, SENT)).as("c announced its connection").isEqualTo(1);
      // every packet c sends from now on (the INS, and the INS's follow-up UPD_C 2 s later) fails
      // authentication at b: b's bad_tag count catches up with c's packets and stays with them
      await()
          .atMost(Duration.ofSeconds(15))
          .pollInterval(Duration.ofMillis(100))
          .ignoreExceptions()
          .until(
              () ->
                  delta(b6, metrics(b), rejected("bad_tag"))
                      == delta(c0, metrics(c), PACKETS_SENT));
      Map<String, Double> b8 = metrics(b);
      assertThat(delta(b6, b8, rejected("bad_tag")))
          .as("bad_tag at b for c's INS " + rejections(b8))
          .isGreaterThanOrEqualTo(1);
      assertThat(delta(b5, b8, RECEIVED)).as("states b received from c").isZero();
      assertThat(delta(b5, b8, PACKETS_RECEIVED)).as("packets b accepted from c").isZero();
      assertThat(ports(b)).as("b's conntrack after c's INS").doesNotContain(40031);
      assertThat(ports(a)).as("a's conntrack after c's INS").doesNotContain(40031);
      log.info(
          "different key: c sent {} states / {} packets, b rejected {} (bad_tag +{} at start-up, +{} for the INS)",
          c1.get(SENT),
          c1.get(PACKETS_SENT),
          rejections(b8),
          delta(b5, b6, rejected("bad_tag")),
          delta(b6, b8, rejected("bad_tag")));

      // 5. replay across a restart of b (issue #16): a's INS of 40041, recorded, then the state
      // deleted; b's new agent
      // has an empty replay window, but a's session answered its bulk request, so the recording is
      // behind it
      insert(a, 40041);
      awaitPorts(l, b, p -> p.contains(40041), "a's connection 40041 synced to b");
      byte[] ins41 =
          frameWithIns(
              capture, null,
              40041); // a may send from its VIP by now (its interface's first address)
      a.exec(
              "conntrack",
              "-D",
              "-p",
              "tcp",
              "-s",
              CLIENT,
              "-d",
              SERVER,
              "--sport",
              "40041",
              "--dport",
              String.valueOf(DPORT))
          .check();
      awaitPorts(l, b, p -> !p.contains(40041), "a's deletion of 40041 reached b");
      l.kill("b");
      l.restartAgent("b");
      Map<String, Double> r0 =
          awaitMetric(l, b, bulk("done"), v -> v == 1, "b's bulk update done after its restart");
      send(
          l,
          x,
          "replay-after-restart",
          List.of(new Labelled("replay of a's INS 40041 to the restarted b", ins41)));
      // replay if it comes within the 30 s freshness window (the usual case), stale if b's restart
      // took longer
      Map<String, Double> r1;
      try {
        r1 =
            await()
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptions()
                .until(
                    () -> metrics(b),
                    m ->
                        m.getOrDefault(rejected("replay"), 0.0)
                                + m.getOrDefault(rejected("stale"), 0.0)
                                - r0.getOrDefault(rejected("replay"), 0.0)
                                - r0.getOrDefault(rejected("stale"), 0.0)
                            >= 1);
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "b's new agent did not refuse the recorded INS of 40041; metrics "
                + metrics(b)
                + "\n"
                + l.logTails(),
            e);
      }
      try {
        await()
            .during(Duration.ofSeconds(1))
            .atMost(Duration.ofSeconds(3))
            .pollInterval(Duration.ofMillis(100))
            .until(() -> !ports(b).contains(40041));
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "the replay brought 40041 into the restarted b's conntrack\n" + l.logTails(), e);
      }
      log.info("replay after b's restart: b rejected {}", rejections(r1));
      log.info(
          "final: a {} rejected {} / b {} rejected {}",
          sync(metrics(a)),
          rejections(metrics(a)),
          sync(b8),
          rejections(b8));
    }
  }

  @Test
  void bsdCompatibleSyncHasNoTrailerAndAppliesWhatAnyoneOnTheLinkSends() throws Exception {
    try (AgentLab l = new AgentLab()) {
      l.hosts("a", "b", "x");
      NetnsLab.Host a = l.lab.host("a");
      NetnsLab.Host b = l.lab.host("b");
      NetnsLab.Host x = l.lab.host("x");
      LabProcess capture = x.startJava("capture", FramesMain.class, "capture", NetnsLab.HOST_IF);
      l.startAgent("a", agentConfig("a", 1, "192.0.2.100", bsdSync(0xa1, 1)));
      awaitMetric(
          l, a, bulk("timed_out"), v -> v == 1, "a's bulk request unanswered (alone on the link)");
      l.startAgent("b", agentConfig("b", 1, "192.0.2.100", bsdSync(0xb2, 10)));
      awaitMetric(l, b, bulk("done"), v -> v == 1, "b's bulk update done");
      awaitOutput(capture, "READY", "the attacker's capture");

      Map<String, Double> b0 = metrics(b);
      insert(a, 40101);
      awaitPorts(l, b, p -> p.contains(40101), "a's connection 40101 synced to b");
      byte[] fromA = frameWithIns(capture, "192.0.2.11", 40101);
      FrameParser.Packet p = (FrameParser.Packet) FrameParser.parse(fromA);
      int hlen = u16(fromA, p.payloadOffset() + 2);
      assertThat(p.payloadLength())
          .as("bsd-compatible sync packet: IP payload = pfsync header len (no trailer)")
          .isEqualTo(hlen);
      PfsyncMessage.Ins aIns = insIn(fromA, 40101);

      // the attacker: a DEL_C of a's state, a TTL 64 INS, a FreeBSD header, and a plain INS (sent
      // last)
      MacAddress xMac = MacAddress.parse(x.mac());
      Inet4Address xIp = ipv4("192.0.2.13");
      List<Labelled> frames =
          List.of(
              new Labelled(
                  "plain DEL_C of a's state 40101",
                  frame(
                      xMac,
                      xIp,
                      pack(new PfsyncMessage.DelC(aIns.state().id(), aIns.state().creatorid())))),
              new Labelled(
                  "plain INS 40122, TTL 64",
                  withTtl(frame(xMac, xIp, ins(40122, 0x5eed0022L, 0x5eed)), 64)),
              new Labelled(
                  "FreeBSD v5 header", frame(xMac, xIp, freebsd(ins(40124, 0x5eed0024L, 0x5eed)))),
              new Labelled(
                  "plain INS 40121, TTL 255", frame(xMac, xIp, ins(40121, 0x5eed0021L, 0x5eed))));
      Map<String, Double> b1 = metrics(b);
      send(l, x, "forged", frames);
      awaitPorts(
          l,
          b,
          ports -> ports.contains(40121),
          "the attacker's plain INS 40121 applied by b (bsd-compatible trusts the link)");
      Map<String, Double> b2 = metrics(b);
      Set<Integer> bPorts = ports(b);
      assertThat(bPorts)
          .as(
              "b's conntrack: the attacker deleted a's state and the TTL 64 / FreeBSD packets were dropped")
          .doesNotContain(40101, 40122, 40124);
      // a hears the attacker too: its own state goes (a DEL_C names the state, whoever sends it, as
      // in pfsync) and the
      // forged one comes in
      awaitPorts(
          l,
          a,
          ports -> ports.contains(40121),
          "the attacker's plain INS 40121 applied by a as well");
      assertThat(ports(a))
          .as("a's conntrack: the attacker deleted a's own live state")
          .doesNotContain(40101, 40122, 40124);
      assertThat(delta(b1, b2, rejected("bad_ttl"))).as("bad_ttl " + rejections(b2)).isEqualTo(1);
      assertThat(delta(b1, b2, rejected("freebsd_version")))
          .as("freebsd_version " + rejections(b2))
          .isEqualTo(1);
      assertThat(delta(b1, b2, PACKETS_RECEIVED))
          .as("packets b accepted from the attacker: DEL_C and INS")
          .isEqualTo(2);
      assertThat(delta(b1, b2, APPLIED))
          .as("states b applied from the attacker: the deletion and the INS")
          .isEqualTo(2);
      assertThat(rejections(b2).keySet())
          .as("no envelope checks in bsd-compatible mode")
          .doesNotContain("unauthenticated", "bad_tag", "replay");
      log.info(
          "bsd-compatible: a's packet {} bytes of pfsync, no trailer; b before the attack {}, after {} rejected {}",
          hlen,
          sync(b0),
          sync(b2),
          rejections(b2));
    }
  }

  // ---- agents and metrics
  // ------------------------------------------------------------------------------------

  static String agentConfig(String node, int vhid, String vip, String sync) {
    return AgentLab.config(node, vhid, 100, false, "secret", vip + "/24")
            .replace("logFormat: json", "logFormat: json\nmetricsPort: " + METRICS_PORT)
        + sync;
  }

  static String authenticatedSync(String keyFile, int hostId, int bulkTimeoutSeconds) {
    return """
        sync:
          interface: eth0
          mode: authenticated
          keyFile: %s
          hostId: %d
          maxDelayMillis: 20
          bulkUpdateTimeoutSeconds: %d
        """
        .formatted(keyFile, hostId, bulkTimeoutSeconds);
  }

  static String bsdSync(int hostId, int bulkTimeoutSeconds) {
    return """
        sync:
          interface: eth0
          mode: bsd-compatible
          hostId: %d
          maxDelayMillis: 20
          bulkUpdateTimeoutSeconds: %d
        """
        .formatted(hostId, bulkTimeoutSeconds);
  }

  static void writeKey(AgentLab l, String name, String key) throws IOException {
    Files.writeString(l.lab.dir().resolve(name), key, StandardCharsets.US_ASCII);
  }

  /**
   * Samples of the agent's /metrics by name with labels (e.g. {@code
   * carp_sync_bulk_state{state="done"}}); empty while it is not up.
   */
  static Map<String, Double> metrics(NetnsLab.Host h) {
    Map<String, Double> out = new TreeMap<>();
    for (String line : Metrics.scrape(h, METRICS_PORT).split("\r?\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!line.startsWith("#") && m.matches()) {
        try {
          out.put(m.group(1), Double.parseDouble(m.group(2)));
        } catch (NumberFormatException e) {
          // a header line that happens to match
        }
      }
    }
    return out;
  }

  static Map<String, Double> awaitMetric(
      AgentLab l, NetnsLab.Host h, String name, Predicate<Double> condition, String what) {
    try {
      return await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(100))
          .ignoreExceptions()
          .until(() -> metrics(h), m -> m.containsKey(name) && condition.test(m.get(name)));
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          what
              + ": "
              + name
              + " on "
              + h.name()
              + " never matched; sync metrics now "
              + metrics(h)
              + "\n"
              + l.logTails(),
          e);
    }
  }

  static double delta(Map<String, Double> before, Map<String, Double> after, String name) {
    return after.getOrDefault(name, 0.0) - before.getOrDefault(name, 0.0);
  }

  static Map<String, Double> rejections(Map<String, Double> m) {
    Map<String, Double> out = new TreeMap<>();
    m.forEach(
        (k, v) -> {
          if (k.startsWith("carp_sync_packets_rejected_total{"))
            out.put(k.replaceAll(".*reason=\"([^\"]*)\".*", "$1"), v);
        });
    return out;
  }

  /** The sync counters worth a log line. */
  static Map<String, Double> sync(Map<String, Double> m) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (String k :
        List.of(
            SENT,
            RECEIVED,
            APPLIED,
            PACKETS_SENT,
            PACKETS_RECEIVED,
            BULK_SENT,
            BULK_RECEIVED,
            TABLE)) {
      out.put(k.replace("carp_sync_", "").replace("_total", ""), m.getOrDefault(k, 0.0));
    }
    m.forEach(
        (k, v) -> {
          if (k.startsWith("carp_sync_bulk_state{") && v == 1)
            out.put(k.replaceAll(".*state=\"([^\"]*)\".*", "bulk=$1"), 1.0);
        });
    return out;
  }

  static void awaitOutput(LabProcess p, String text, String what) {
    try {
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(50))
          .until(() -> p.output().contains(text) || !p.isAlive());
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(what + " never printed " + text + "\n" + p.output(), e);
    }
    if (!p.output().contains(text)) throw new AssertionError(what + " exited\n" + p.output());
  }

  // ---- conntrack
  // ---------------------------------------------------------------------------------------------

  static void insert(NetnsLab.Host h, int sport) {
    h.exec(
            "conntrack",
            "-I",
            "-p",
            "tcp",
            "-s",
            CLIENT,
            "-d",
            SERVER,
            "--sport",
            String.valueOf(sport),
            "--dport",
            String.valueOf(DPORT),
            "--state",
            "ESTABLISHED",
            "-t",
            "600",
            "-u",
            "SEEN_REPLY,ASSURED")
        .check();
  }

  private static final Pattern CT =
      Pattern.compile(
          "src="
              + Pattern.quote(CLIENT)
              + " dst="
              + Pattern.quote(SERVER)
              + " sport=(\\d+) dport="
              + DPORT
              + " ");

  /** Client ports of the test's connections in the host's conntrack table. */
  static Set<Integer> ports(NetnsLab.Host h) {
    Set<Integer> out = new TreeSet<>();
    for (String line : h.exec("conntrack", "-L", "-p", "tcp").check().stdout().lines().toList()) {
      Matcher m = CT.matcher(line);
      if (m.find()) out.add(Integer.parseInt(m.group(1)));
    }
    return out;
  }

  static void awaitPorts(
      AgentLab l, NetnsLab.Host h, Predicate<Set<Integer>> condition, String what) {
    try {
      await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() -> ports(h), condition);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          what
              + ": "
              + h.name()
              + "'s conntrack has "
              + ports(h)
              + "; metrics "
              + metrics(h)
              + "\n"
              + l.logTails(),
          e);
    }
  }

  // ---- frames
  // ------------------------------------------------------------------------------------------------

  record Labelled(String label, byte[] frame) {}

  /**
   * Writes the frames to a file and sends them from {@code h} with {@link FramesMain}, 100 ms
   * apart; waits until it is done.
   */
  static void send(AgentLab l, NetnsLab.Host h, String name, List<Labelled> frames)
      throws Exception {
    Path file = l.lab.dir().resolve(name + ".frames");
    StringBuilder sb = new StringBuilder();
    for (Labelled f : frames)
      sb.append(HEX.formatHex(f.frame())).append(' ').append(f.label()).append('\n');
    Files.writeString(file, sb);
    LabProcess p =
        h.startJava(
            "send-" + name, FramesMain.class, "send", NetnsLab.HOST_IF, file.toString(), "100");
    int exit = p.waitFor(WAIT);
    assertThat(exit).as("frame sender " + name + "\n" + p.output()).isZero();
    assertThat(p.output().lines().filter(s -> s.startsWith("SENT ")).count())
        .as(p.output())
        .isEqualTo(frames.size());
  }

  /**
   * The frame captured from {@code source} (null: any) whose pfsync INS carries the connection from
   * {@code sport}.
   */
  static byte[] frameWithIns(LabProcess capture, String source, int sport) {
    try {
      // The peer has applied the frame already; the capture (a JVM printing hex) may lag far
      // behind it on a busy machine: 5 s was too short once, with CI and a torture run sharing it.
      return await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                for (String line : capture.output().lines().toList()) {
                  if (!line.startsWith("FRAME ")) continue;
                  byte[] f = HEX.parseHex(line.substring(6).strip());
                  if (FrameParser.parse(f) instanceof FrameParser.Packet p
                      && (source == null || p.src().getHostAddress().equals(source))
                      && insIn(f, sport) != null) {
                    return f;
                  }
                }
                return null;
              },
              f -> f != null);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          "no frame from " + source + " with an INS of " + sport + " captured\n" + capture.output(),
          e);
    }
  }

  /** The INS of {@code sport} in a captured frame, or null. */
  static PfsyncMessage.Ins insIn(byte[] frame, int sport) {
    if (!(FrameParser.parse(frame) instanceof FrameParser.Packet p)
        || p.protocol() != Pfsync.IPPROTO_PFSYNC) return null;
    int hlen = u16(frame, p.payloadOffset() + 2);
    if (hlen > p.payloadLength()) return null;
    if (!(PfsyncDecoder.decode(frame, p.payloadOffset(), hlen)
        instanceof PfsyncDecodeResult.Decoded d)) return null;
    for (PfsyncMessage m : d.messages()) {
      if (m instanceof PfsyncMessage.Ins ins && ins.state().wireKey().port0() == sport) return ins;
    }
    return null;
  }

  /**
   * A plain pfsync packet (header included) with one INS of 198.51.100.10:sport → 203.0.113.10:443,
   * ESTABLISHED.
   */
  static byte[] ins(int sport, long id, int creator) {
    var original = new ConntrackEntry.Tuple(ipv4(CLIENT), ipv4(SERVER), sport, DPORT);
    var entry =
        new ConntrackEntry(
            ConntrackEntry.AF_INET,
            ConntrackEntry.PROTO_TCP,
            original,
            original.inverted(),
            ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED,
            600,
            ConntrackEntry.TCP_ESTABLISHED,
            0,
            0,
            0,
            0,
            -1,
            -1,
            0,
            0);
    return pack(new PfsyncMessage.Ins(StateMapper.toState(entry, id, creator)));
  }

  static byte[] pack(PfsyncMessage m) {
    List<byte[]> packets = PfsyncEncoder.pack(List.of(m), Pfsync.payloadBudget(1500));
    assertThat(packets).hasSize(1);
    return packets.getFirst();
  }

  /** The same pfsync bytes with FreeBSD's header version 5. */
  static byte[] freebsd(byte[] pfsync) {
    byte[] out = pfsync.clone();
    out[0] = (byte) Pfsync.VERSION_FREEBSD;
    return out;
  }

  /** An IPv4 frame from the attacker to 224.0.0.240, protocol 240, TTL 255. */
  static byte[] frame(MacAddress srcMac, Inet4Address src, byte[] payload) {
    return CarpFrames.ipv4(
        srcMac, MacAddress.forMulticast(GROUP), src, GROUP, 0x1234, Pfsync.IPPROTO_PFSYNC, payload);
  }

  static byte[] withTtl(byte[] frame, int ttl) {
    byte[] out = frame.clone();
    out[14 + 8] = (byte) ttl;
    fixIpChecksum(out);
    return out;
  }

  /** Recomputes the checksum of the IPv4 header (no options) after the Ethernet header. */
  static void fixIpChecksum(byte[] f) {
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    int sum = 0;
    for (int i = 14; i < 34; i += 2) sum += u16(f, i);
    while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
    int c = ~sum & 0xffff;
    f[14 + 10] = (byte) (c >>> 8);
    f[14 + 11] = (byte) c;
  }

  static int u16(byte[] b, int off) {
    return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
  }

  static Inet4Address ipv4(String literal) {
    try {
      return (Inet4Address) InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /**
   * Run inside a lab host. {@code capture IF}: prints every IP protocol 240 frame on IF as {@code
   * FRAME <hex>} (after {@code READY}) until killed. {@code send IF FILE GAP_MILLIS}: sends each
   * line's frame ({@code <hex> <label>}) on IF, {@code GAP_MILLIS} apart, printing {@code SENT
   * <label>}.
   */
  public static final class FramesMain {
    public static void main(String[] args) throws Exception {
      switch (args[0]) {
        case "capture" -> {
          try (PcapFrameIo io =
              PcapFrameIo.builder(args[1])
                  .filter("ip proto " + Pfsync.IPPROTO_PFSYNC)
                  .snaplen(65535)
                  .promiscuous(true)
                  .open()) {
            io.start(
                f -> {
                  synchronized (System.out) {
                    System.out.println("FRAME " + HEX.formatHex(f));
                    System.out.flush();
                  }
                });
            synchronized (System.out) {
              System.out.println("READY");
              System.out.flush();
            }
            Thread.sleep(Long.MAX_VALUE);
          }
        }
        case "send" -> {
          List<String> lines = new ArrayList<>(Files.readAllLines(Path.of(args[2])));
          long gap = Long.parseLong(args[3]);
          try (PcapFrameIo io =
              PcapFrameIo.builder(args[1]).filter("ip proto " + Pfsync.IPPROTO_PFSYNC).open()) {
            for (String line : lines) {
              if (line.isBlank()) continue;
              String[] parts = line.split(" ", 2);
              io.send(HEX.parseHex(parts[0]));
              System.out.println("SENT " + (parts.length > 1 ? parts[1] : ""));
              System.out.flush();
              Thread.sleep(gap);
            }
          }
        }
        default -> throw new IllegalArgumentException("capture IF | send IF FILE GAP_MILLIS");
      }
    }
  }
}
