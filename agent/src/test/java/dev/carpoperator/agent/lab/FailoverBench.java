package dev.carpoperator.agent.lab;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Measures failover on real agents in network namespaces and prints the figures (no assertions on time). Not part
 * of the default test run (the name does not match surefire's includes); run it with
 * {@code ./mvnw -pl agent -am verify -Dtest=FailoverBench -Dsurefire.failIfNoSpecifiedTests=false -Dcarp.bench.rounds=20}
 * (add {@code -Dcarp.bench.profile=fast} for the fast profile).
 *
 * <p>Two agents, advbase 1, advskew 0 (a) and 100 (b), preempt on. Unplanned: SIGKILL the master; planned: SIGTERM
 * (bow-out). The time is from the signal to the {@code @timestamp} of b's state-change line to MASTER, so it is the
 * election time; adding the address takes a few more milliseconds (docs/address-takeover.md).
 */
class FailoverBench {
  static final String VIP = "192.0.2.100";
  private static final Pattern TO_MASTER = Pattern.compile("\\{\"@timestamp\":\"([^\"]+)\"[^\\n]*\"event\":\"state-change\"[^\\n]*\"to\":\"MASTER\"");

  @Test
  void failoverTimes() {
    int rounds = Integer.getInteger("carp.bench.rounds", 10);
    boolean fast = "fast".equals(System.getProperty("carp.bench.profile", "bsd"));
    List<Double> unplanned = new ArrayList<>();
    List<Double> planned = new ArrayList<>();
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      // bsd: advbase 1, advskew 0 / 100. fast: advbase 0, advskew 26 / 52 (adverts every ~100 / ~200 ms).
      l.startAgent("a", fast ? AgentLab.fastConfig("a", 1, 26, true, VIP + "/24") : AgentLab.config("a", 1, 0, true, "secret", VIP + "/24"));
      l.startAgent("b", fast ? AgentLab.fastConfig("b", 1, 52, true, VIP + "/24") : AgentLab.config("b", 1, 100, true, "secret", VIP + "/24"));
      l.awaitOnlyHolder(VIP, "a", Duration.ofSeconds(25));
      for (int i = 0; i < rounds * 2; i++) {
        boolean kill = i % 2 == 0;
        settle();
        int before = count(l.agent("b").output());
        Instant t0 = Instant.now();
        if (kill) {
          l.kill("a");
          l.lab.host("a").exec("ip", "addr", "del", VIP + "/24", "dev", "eth0");
        } else {
          l.agent("a").stop(Duration.ofSeconds(10));
        }
        l.awaitOnlyHolder(VIP, "b", Duration.ofSeconds(15));
        Instant tMaster = nthMasterTimestamp(l.agent("b").output(), before);
        (kill ? unplanned : planned).add(Duration.between(t0, tMaster).toNanos() / 1e6);
        l.restartAgent("a");
        l.awaitOnlyHolder(VIP, "a", Duration.ofSeconds(25));
      }
    }
    System.out.println("FAILOVER-BENCH profile=" + (fast ? "fast advskew 26/52" : "bsd advbase=1 advskew 0/100") + " rounds=" + rounds);
    System.out.println("FAILOVER-BENCH unplanned (SIGKILL) ms: " + summary(unplanned));
    System.out.println("FAILOVER-BENCH planned (SIGTERM, bow-out) ms: " + summary(planned));
  }

  /** Let a's first adverts go out so the next kill lands at a random point of the advert interval. */
  private static void settle() {
    try {
      Thread.sleep(1500 + (long) (Math.random() * 1000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int count(String log) {
    Matcher m = TO_MASTER.matcher(log);
    int n = 0;
    while (m.find()) n++;
    return n;
  }

  private static Instant nthMasterTimestamp(String log, int skip) {
    Matcher m = TO_MASTER.matcher(log);
    int n = 0;
    while (m.find()) {
      if (n++ == skip) return OffsetDateTime.parse(m.group(1)).toInstant();
    }
    throw new AssertionError("b logged no new transition to MASTER");
  }

  static String summary(List<Double> ms) {
    List<Double> s = ms.stream().sorted().toList();
    if (s.isEmpty()) return "no samples";
    return String.format("n=%d p50=%.0f p95=%.0f max=%.0f min=%.0f", s.size(), pct(s, 50), pct(s, 95), s.getLast(), s.getFirst());
  }

  private static double pct(List<Double> sorted, int p) {
    int idx = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, idx)));
  }
}
