package dev.carpoperator.agent.lab;

import static dev.carpoperator.agent.lab.SyncSecurityTest.fixIpChecksum;
import static dev.carpoperator.agent.lab.SyncSecurityTest.metrics;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.carp.CarpCodec;
import dev.carpoperator.agent.carp.CarpHmac;
import dev.carpoperator.agent.carp.InternetChecksum;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.agent.net.PcapFrameIo;
import dev.carpoperator.agent.sync.SyncEnvelope;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue #8 item 4: an attacker on the CARP link floods two electing agents with hostile adverts and
 * spoofed sync packets. Agents {@code a} (master, advskew 0) and {@code b} (backup, advskew 100)
 * run vhid 1 (BSD profile, advbase 1) and authenticated state sync on the same link; host {@code x}
 * runs {@link FloodMain}, which first sniffs one of a's real adverts, then sends {@value
 * #FLOOD_SECONDS} s of frames at {@value #RATE} per second, round-robin over the categories of
 * {@link FloodMain#CATEGORIES}.
 *
 * <p>Shown: (a) the election is unaffected: a holds the address throughout, neither agent logs a
 * state change, and a real failover (a killed) still happens while the flood goes on; (b) every
 * packet is counted under its reason, exactly: the counter deltas on both agents equal what was
 * sent per category (see {@link #expectedOnMaster}); (c) memory is flat: the heap after a full GC
 * grows by less than {@value #HEAP_GROWTH_MIB} MiB, the sync table holds no forged state, and RSS
 * is reported (RSS of a JVM grows as the heap is used; asserted only loosely).
 *
 * <p>Replays: CARP has no replay protection (OpenBSD neither, see {@code ReplayCookie}): a replayed
 * advert of the master is the master's own advert again. The master drops it as {@code loop} (its
 * own cookie); the backup accepts it, which only confirms what the real master says. So the
 * failover part floods without replays: replaying a dead master's adverts would hold the backup
 * back, as on OpenBSD (docs/hostile-input.md).
 */
class HostileFloodTest {
  private static final Logger log = LoggerFactory.getLogger(HostileFloodTest.class);
  static final int FLOOD_SECONDS = 30;

  /** Generous: JVM start-up on a loaded CI machine. */
  static final Duration STARTUP = Duration.ofSeconds(60);

  static final int RATE = 1000;
  static final int HEAP_GROWTH_MIB = 16;
  static final int RSS_GROWTH_MIB = 128;
  static final String VIP = "192.0.2.100";
  static final String PASSWORD = "flood-test-password";
  static final String KEY = "hostile-flood-lab-key-0123456789abcdef";
  static final String ATTACKER_KEY = "the-attacker-does-not-have-the-key-0123";

  @Test
  void floodOfHostileAdvertsAndSyncPacketsIsCountedAndChangesNothing() throws Exception {
    try (AgentLab l = new AgentLab()) {
      l.hosts("a", "b", "x"); // 192.0.2.11, .12, .13
      SyncSecurityTest.writeKey(l, "sync.key", KEY);
      NetnsLab.Host a = l.lab.host("a");
      NetnsLab.Host b = l.lab.host("b");
      NetnsLab.Host x = l.lab.host("x");
      l.startAgent("a", config("a", 0, 0xa1));
      l.awaitOnlyHolder(VIP, "a", STARTUP);
      // a alone: its bulk request goes unanswered until the bulk timeout. Start b only then: a node
      // whose bulk update is
      // still pending when a peer appears demotes itself (it may lack that peer's states), and b
      // would take over, a
      // race with the start-up of two JVMs on a loaded machine, not what this test is about.
      SyncSecurityTest.awaitMetric(
          l,
          a,
          "carp_sync_bulk_state{state=\"timed_out\"}",
          v -> v == 1,
          "a's bulk request to time out");
      SyncSecurityTest.awaitMetric(l, a, "carp_demotion", v -> v == 0, "a not demoted");
      l.startAgent("b", config("b", 100, 0xb2));
      SyncSecurityTest.awaitMetric(
          l, b, "carp_sync_bulk_state{state=\"done\"}", v -> v == 1, "b's bulk update");
      await().atMost(STARTUP).until(() -> l.transitionsTo("b", "BACKUP") == 1);
      // Settled: no start-up demotion left on either side (whileSyncPending, untilReady), a still
      // master.
      for (NetnsLab.Host h : List.of(a, b))
        SyncSecurityTest.awaitMetric(l, h, "carp_demotion", v -> v == 0, h.name() + " not demoted");
      try {
        await()
            .during(Duration.ofSeconds(3))
            .atMost(Duration.ofSeconds(5))
            .until(() -> l.holders(VIP).equals(List.of("a")));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(
            "a did not stay the only holder: " + l.holders(VIP) + "\n" + l.logTails(), e);
      }

      long aMaster = l.transitionsTo("a", "MASTER"), aBackup = l.transitionsTo("a", "BACKUP");
      long bMaster = l.transitionsTo("b", "MASTER"), bBackup = l.transitionsTo("b", "BACKUP");
      Memory aMem0 = memory(l, "a"), bMem0 = memory(l, "b");
      Map<String, Double> a0 = metrics(a), b0 = metrics(b);

      // 1. The flood, every category; a must hold the address at every look.
      LabProcess flood =
          x.startJava(
              "flood",
              FloodMain.class,
              NetnsLab.HOST_IF,
              "192.0.2.11",
              VIP,
              PASSWORD,
              String.valueOf(FLOOD_SECONDS),
              String.valueOf(RATE),
              "all");
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(FLOOD_SECONDS + 30);
      int looks = 0;
      while (flood.isAlive() && System.nanoTime() < until) {
        assertThat(l.holders(VIP))
            .as("holders of " + VIP + " during the flood\n" + flood.output() + l.logTails())
            .containsExactly("a");
        looks++;
        Thread.sleep(500);
      }
      assertThat(flood.waitFor(Duration.ofSeconds(5)))
          .as("flooder exit\n" + flood.output())
          .isZero();
      Map<String, Long> sent = sentCounts(flood.output());
      log.info("flood sent {} ({} looks at the address holder)", sent, looks);
      assertThat(sent.values().stream().mapToLong(Long::longValue).sum())
          .isGreaterThanOrEqualTo((long) FLOOD_SECONDS * RATE * 9 / 10);

      // (b) counted by reason: the capture may still be draining, so wait until the totals are
      // reached, then compare.
      Map<String, Long> wantA = expectedOnMaster(sent), wantB = expectedOnBackup(sent);
      Map<String, Double> a1 = awaitDeltas(l, a, a0, wantA), b1 = awaitDeltas(l, b, b0, wantB);
      assertThat(deltas(a0, a1, wantA.keySet())).as("a's counters (master)").isEqualTo(wantA);
      assertThat(deltas(a0, a1, List.of(RECEIVED_ADVERTS)))
          .as("a heard no advert it accepted")
          .isEqualTo(Map.of(RECEIVED_ADVERTS, 0L));
      // b also accepts a's real adverts (about one a second), on top of the replays
      Map<String, Long> bGot = deltas(b0, b1, wantB.keySet());
      long realAdverts = (long) (get(a1, ADVERTS_SENT) - get(a0, ADVERTS_SENT));
      assertThat(bGot.get(RECEIVED_ADVERTS))
          .as("b's accepted adverts: replays + a's real ones (" + realAdverts + ")")
          .isBetween(sent.get("replayed"), sent.get("replayed") + realAdverts + 2);
      bGot.remove(RECEIVED_ADVERTS);
      Map<String, Long> wantBRejected = new LinkedHashMap<>(wantB);
      wantBRejected.remove(RECEIVED_ADVERTS);
      assertThat(bGot).as("b's counters (backup)").isEqualTo(wantBRejected);

      // (a) no state change on either agent; the sync table holds no forged state
      assertThat(
              List.of(
                  l.transitionsTo("a", "MASTER"),
                  l.transitionsTo("a", "BACKUP"),
                  l.transitionsTo("b", "MASTER"),
                  l.transitionsTo("b", "BACKUP")))
          .as("state changes a→MASTER, a→BACKUP, b→MASTER, b→BACKUP\n" + l.logTails())
          .isEqualTo(List.of(aMaster, aBackup, bMaster, bBackup));
      assertThat(get(b1, TABLE)).as("b's sync table after spoofed INS").isEqualTo(get(b0, TABLE));
      assertThat(get(b1, "carp_sync_states_applied_total"))
          .isEqualTo(get(b0, "carp_sync_states_applied_total"));

      // (c) memory
      Memory aMem1 = memory(l, "a"), bMem1 = memory(l, "b");
      log.info("memory before → after the flood: a {} → {}, b {} → {}", aMem0, aMem1, bMem0, bMem1);
      for (Memory[] m : new Memory[][] {{aMem0, aMem1}, {bMem0, bMem1}}) {
        assertThat(m[1].heapAfterGcKib() - m[0].heapAfterGcKib())
            .as("heap growth (KiB) after GC " + m[0] + " → " + m[1])
            .isLessThan(HEAP_GROWTH_MIB * 1024L);
        assertThat(m[1].rssKib() - m[0].rssKib())
            .as("RSS growth (KiB) " + m[0] + " → " + m[1])
            .isLessThan(RSS_GROWTH_MIB * 1024L);
      }

      // (a) a real failover while the flood goes on (without replays, see the class comment)
      LabProcess flood2 =
          x.startJava(
              "flood2",
              FloodMain.class,
              NetnsLab.HOST_IF,
              "192.0.2.11",
              VIP,
              PASSWORD,
              "20",
              String.valueOf(RATE),
              "no-replay");
      SyncSecurityTest.awaitOutput(flood2, "FLOODING", "the second flood");
      long killedAt = System.nanoTime();
      l.kill("a"); // SIGKILL: no bow-out, the address stays on a's NIC as after a crash (as in
      // ElectionTest)
      a.exec("ip", "addr", "flush", "dev", NetnsLab.HOST_IF, "to", VIP + "/32");
      l.awaitOnlyHolder(VIP, "b", Duration.ofSeconds(10));
      log.info(
          "b took over {} ms after a was killed, during the flood",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt));
      assertThat(l.transitionsTo("b", "MASTER")).isEqualTo(bMaster + 1);
      flood2.process().destroyForcibly();
    }
  }

  // ---- what each category must move
  // -------------------------------------------------------------------------------

  static final String RECEIVED_ADVERTS = "carp_adverts_received_total";
  static final String ADVERTS_SENT = "carp_adverts_sent_total";
  static final String TABLE = "carp_sync_table_states";

  static String carp(String reason) {
    return "carp_adverts_rejected{" + reason + "}";
  }

  static String sync(String reason) {
    return "carp_sync_packets_rejected{" + reason + "}";
  }

  static final String MALFORMED = "carp_frames_dropped{ipv4_bad_checksum}";

  /** On the master: a replay of its own advert carries its own cookie (loop). */
  static Map<String, Long> expectedOnMaster(Map<String, Long> sent) {
    Map<String, Long> m = common(sent);
    m.put(carp("loop"), sent.get("replayed"));
    return m;
  }

  /**
   * On the backup: a replay passes every check (no replay protection in CARP) and is counted as
   * received.
   */
  static Map<String, Long> expectedOnBackup(Map<String, Long> sent) {
    Map<String, Long> m = common(sent);
    m.put(carp("loop"), 0L);
    m.put(RECEIVED_ADVERTS, sent.get("replayed"));
    return m;
  }

  private static Map<String, Long> common(Map<String, Long> sent) {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put(MALFORMED, sent.get("malformed-ip"));
    m.put(carp("bad_length"), sent.get("truncated"));
    m.put(carp("bad_ttl"), sent.get("wrong-ttl"));
    m.put(carp("bad_checksum"), sent.get("wrong-checksum") + sent.get("garbage"));
    m.put(carp("unknown_vhid"), sent.get("unknown-vhid"));
    m.put(carp("bad_version"), sent.get("wrong-version"));
    m.put(carp("bad_auth"), sent.get("wrong-hmac"));
    m.put(sync("unauthenticated"), sent.get("sync-unauthenticated"));
    m.put(sync("bad_tag"), sent.get("sync-wrong-key"));
    m.put(sync("bad_ttl"), sent.get("sync-wrong-ttl"));
    return m;
  }

  /**
   * The metric value under our short name: a sum over the samples of that name whose labels hold
   * the reason.
   */
  static double get(Map<String, Double> metrics, String shortName) {
    Matcher m = Pattern.compile("([a-z_]+)\\{(.*)}").matcher(shortName);
    String name = m.matches() ? m.group(1) : shortName;
    String reason = m.matches() ? "reason=\"" + m.group(2) + "\"" : null;
    double sum = 0;
    for (var e : metrics.entrySet()) {
      String k = e.getKey();
      boolean nameOk =
          k.equals(name)
              || k.equals(name + "_total")
              || k.startsWith(name + "{")
              || k.startsWith(name + "_total{");
      if (nameOk && (reason == null || k.contains(reason))) sum += e.getValue();
    }
    return sum;
  }

  static Map<String, Long> deltas(
      Map<String, Double> before, Map<String, Double> after, java.util.Collection<String> names) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (String n : names) out.put(n, Math.round(get(after, n) - get(before, n)));
    return out;
  }

  /**
   * Metrics once every expected counter reached its value (or after 15 s, for the assertion to show
   * the difference).
   */
  static Map<String, Double> awaitDeltas(
      AgentLab l, NetnsLab.Host h, Map<String, Double> before, Map<String, Long> want) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    Map<String, Double> now = metrics(h);
    while (System.nanoTime() < end) {
      Map<String, Long> got = deltas(before, now, want.keySet());
      if (want.entrySet().stream().allMatch(e -> got.get(e.getKey()) >= e.getValue())) break;
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      now = metrics(h);
    }
    return now;
  }

  static Map<String, Long> sentCounts(String output) {
    Map<String, Long> out = new LinkedHashMap<>();
    Matcher m = Pattern.compile("(?m)^SENT (\\S+) (\\d+)$").matcher(output);
    while (m.find()) out.put(m.group(1), Long.parseLong(m.group(2)));
    assertThat(out.keySet()).as(output).containsAll(FloodMain.CATEGORIES);
    return out;
  }

  // ---- memory
  // ------------------------------------------------------------------------------------------------------

  record Memory(long heapAfterGcKib, long rssKib) {
    @Override
    public String toString() {
      return "heap " + heapAfterGcKib / 1024 + " MiB after GC, RSS " + rssKib / 1024 + " MiB";
    }
  }

  /**
   * Heap in use after a full GC (jcmd GC.run, then GC.heap_info) and the process's resident set
   * (VmRSS).
   */
  static Memory memory(AgentLab l, String host) throws Exception {
    long pid = l.agent(host).process().pid();
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    run(jcmd, String.valueOf(pid), "GC.run");
    String info = run(jcmd, String.valueOf(pid), "GC.heap_info");
    Matcher used = Pattern.compile("used (\\d+)K").matcher(info);
    assertThat(used.find()).as("jcmd GC.heap_info of " + host + ": " + info).isTrue();
    String status = java.nio.file.Files.readString(Path.of("/proc", String.valueOf(pid), "status"));
    Matcher rss = Pattern.compile("VmRSS:\\s+(\\d+) kB").matcher(status);
    assertThat(rss.find()).isTrue();
    return new Memory(Long.parseLong(used.group(1)), Long.parseLong(rss.group(1)));
  }

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    return out;
  }

  private static String config(String node, int advskew, int hostId) {
    return SyncSecurityTest.agentConfig(
            node, 1, VIP, SyncSecurityTest.authenticatedSync("sync.key", hostId, 10))
        .replace("advskew: 100", "advskew: " + advskew)
        .replace("password: \"secret\"", "password: \"" + PASSWORD + "\"");
  }

  /**
   * The attacker, run in host x: {@code IF MASTER_IP VIP PASSWORD SECONDS RATE all|no-replay}.
   * Sniffs one advert of the master (for the replays), prints FLOODING, sends RATE frames a second
   * for SECONDS round-robin over the categories, then prints {@code SENT <category> <n>} per
   * category.
   */
  public static final class FloodMain {
    static final List<String> CATEGORIES =
        List.of(
            "malformed-ip",
            "garbage",
            "truncated",
            "wrong-ttl",
            "wrong-checksum",
            "unknown-vhid",
            "wrong-version",
            "wrong-hmac",
            "replayed",
            "sync-unauthenticated",
            "sync-wrong-key",
            "sync-wrong-ttl");
    static final MacAddress MAC = MacAddress.parse("02:00:00:00:ee:01");

    public static void main(String[] args) throws Exception {
      String ifName = args[0];
      String masterIp = args[1];
      Inet4Address vip = SyncSecurityTest.ipv4(args[2]);
      CarpHmac wrong = CarpHmac.of("not-" + args[3], 1, List.of(vip));
      long seconds = Long.parseLong(args[4]);
      int rate = Integer.parseInt(args[5]);
      boolean replay = args[6].equals("all");
      Inet4Address me = SyncSecurityTest.ipv4("192.0.2.13");
      Random rnd = new Random(8);
      SyncEnvelope forger =
          new SyncEnvelope(ATTACKER_KEY.getBytes(StandardCharsets.US_ASCII), false);

      try (PcapFrameIo io = PcapFrameIo.builder(ifName).filter(PcapFrameIo.CARP_FILTER).open()) {
        byte[] captured = null;
        if (replay) {
          BlockingQueue<byte[]> adverts = new LinkedBlockingQueue<>();
          io.start(
              f -> {
                if (FrameParser.parse(f) instanceof FrameParser.Packet p
                    && p.src().getHostAddress().equals(masterIp)) adverts.offer(f);
              });
          captured = adverts.poll(10, TimeUnit.SECONDS);
          if (captured == null)
            throw new IllegalStateException("no advert from " + masterIp + " within 10 s");
          // From our MAC, as an attacker would (the master ignores frames from its own MAC without
          // counting them).
          System.arraycopy(MAC.bytes(), 0, captured, 6, 6);
        }
        byte[] good =
            CarpCodec.encode(
                1, 0, 0, 1, 1234, wrong); // the layout of a real advert; its HMAC is wrong
        List<String> categories =
            replay ? CATEGORIES : CATEGORIES.stream().filter(c -> !c.equals("replayed")).toList();
        Map<String, Long> sent = new LinkedHashMap<>();
        for (String c : CATEGORIES) sent.put(c, 0L);
        System.out.println("FLOODING");
        System.out.flush();
        long total = seconds * rate;
        long start = System.nanoTime();
        long counter = System.currentTimeMillis() * 1000;
        for (long i = 0; i < total; i++) {
          String category = categories.get((int) (i % categories.size()));
          byte[] frame =
              switch (category) {
                case "malformed-ip" -> {
                  byte[] f = carp(me, good);
                  f[14 + 10] ^= 0x5a; // IPv4 header checksum
                  yield f;
                }
                case "garbage" -> {
                  byte[] junk = new byte[36 + rnd.nextInt(64)];
                  rnd.nextBytes(junk);
                  if (InternetChecksum.verify(junk, 0, 36)) junk[6] ^= 1;
                  yield carp(me, junk);
                }
                case "truncated" -> carp(me, Arrays.copyOf(good, 1 + rnd.nextInt(35)));
                case "wrong-ttl" -> {
                  byte[] f = carp(me, good);
                  f[14 + 8] = (byte) (1 + rnd.nextInt(254));
                  fixIpChecksum(f);
                  yield f;
                }
                case "wrong-checksum" -> {
                  byte[] p = good.clone();
                  p[6] ^= (byte) (1 + rnd.nextInt(255));
                  yield carp(me, p);
                }
                case "unknown-vhid" -> carp(me, withVhid(good, 2 + rnd.nextInt(250)));
                case "wrong-version" -> {
                  byte[] p = good.clone();
                  p[0] = 0x31; // version 3 (VRRPv3's number), type 1
                  yield carp(me, withChecksum(p));
                }
                case "wrong-hmac" -> carp(me, CarpCodec.encode(1, 0, 0, 1, counter++, wrong));
                case "replayed" -> captured;
                case "sync-unauthenticated" ->
                    SyncSecurityTest.frame(
                        MAC, me, SyncSecurityTest.ins(50000 + (int) (i % 1000), i, 0x666));
                case "sync-wrong-key" ->
                    SyncSecurityTest.frame(
                        MAC,
                        me,
                        forger.seal(
                            SyncSecurityTest.ins(50000 + (int) (i % 1000), i, 0x666),
                            me.getAddress()));
                case "sync-wrong-ttl" ->
                    SyncSecurityTest.withTtl(
                        SyncSecurityTest.frame(MAC, me, SyncSecurityTest.ins(50000, i, 0x666)), 64);
                default -> throw new IllegalStateException(category);
              };
          io.send(frame);
          sent.merge(category, 1L, Long::sum);
          long due = start + (i + 1) * 1_000_000_000L / rate;
          long wait = due - System.nanoTime();
          if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
        }
        sent.forEach((c, n) -> System.out.println("SENT " + c + " " + n));
        System.out.flush();
      }
    }

    static byte[] carp(Inet4Address src, byte[] payload) {
      return CarpFrames.ipv4(
          MAC, MacAddress.CARP_IPV4_GROUP, src, CarpFrames.CARP_GROUP_V4, 0x4242, payload);
    }

    static byte[] withVhid(byte[] advert, int vhid) {
      byte[] p = advert.clone();
      p[1] = (byte) vhid;
      return withChecksum(p);
    }

    static byte[] withChecksum(byte[] p) {
      p[6] = p[7] = 0;
      int c = InternetChecksum.compute(p, 0, 36);
      p[6] = (byte) (c >>> 8);
      p[7] = (byte) c;
      return p;
    }
  }
}
