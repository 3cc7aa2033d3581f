package dev.carpoperator.agent.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The runner with a probe the test controls (what the network says is the test's to choose here;
 * the real probe is NetworkProbeTest's, the real failover HealthCheckFailoverTest's).
 */
class HealthChecksTest {
  /** What each check's probe answers now: null passes. */
  final Map<String, String> answers = new ConcurrentHashMap<>();

  final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
  final List<String> verdicts = new CopyOnWriteArrayList<>();
  final List<String> observed = new CopyOnWriteArrayList<>();
  final HealthChecks checks =
      new HealthChecks(
          spec -> {
            runs.computeIfAbsent(spec.name(), n -> new AtomicInteger()).incrementAndGet();
            return answers.get(spec.name());
          },
          (address, weight, failing) ->
              verdicts.add(address.key() + " " + address.vhids() + " " + weight + " " + failing),
          (address, check, error, passing) -> observed.add(address + "/" + check + " " + passing));

  @AfterEach
  void close() {
    checks.close();
  }

  static CheckSpec check(String name, int weight) {
    return new CheckSpec(name, new CheckSpec.Tcp("127.0.0.1", 1), 1000, 1000, 2, 1, weight);
  }

  int runsOf(String check) {
    return runs.getOrDefault(check, new AtomicInteger()).get();
  }

  @Test
  void failingChecksAddTheirWeightsAndPassingAgainClearsThem() {
    answers.put("api", "connection refused");
    checks.apply(List.of(new AddressChecks("web", List.of(7), List.of(check("api", 3)))));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> verdicts.contains("web [7] 3 [api: connection refused]"));
    assertThat(checks.failing("web")).containsExactly("api: connection refused");

    answers.remove("api"); // successThreshold 1
    await().atMost(Duration.ofSeconds(10)).until(() -> verdicts.contains("web [7] 0 []"));
    assertThat(checks.failing("web")).isEmpty();
    assertThat(observed).contains("web/api false", "web/api true");
  }

  @Test
  void severalFailingChecksSumAndEachCountsOnItsOwn() {
    checks.apply(
        List.of(new AddressChecks("web", List.of(7, 8), List.of(check("a", 2), check("b", 5)))));
    await().atMost(Duration.ofSeconds(10)).until(() -> runsOf("a") >= 1 && runsOf("b") >= 1);
    assertThat(verdicts).isEmpty(); // both passed from the first run: nothing to say
    answers.put("a", "HTTP 503");
    answers.put("b", "HTTP 500");
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> verdicts.contains("web [7, 8] 7 [a: HTTP 503, b: HTTP 500]"));
    int seen = verdicts.size();
    answers.remove("b");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> verdicts.subList(seen, verdicts.size()).contains("web [7, 8] 2 [a: HTTP 503]"));
  }

  @Test
  void reconfiguringKeepsUnchangedChecksAndClearsTheDemotionOfRemovedOnes() {
    answers.put("api", "connection refused");
    AddressChecks web = new AddressChecks("web", List.of(7), List.of(check("api", 3)));
    AddressChecks db = new AddressChecks("db", List.of(9), List.of(check("pg", 1)));
    checks.apply(List.of(web, db));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> verdicts.contains("web [7] 3 [api: connection refused]"));
    await().atMost(Duration.ofSeconds(10)).until(() -> runsOf("pg") >= 1);

    checks.apply(List.of(web)); // db goes; web stays as it is
    assertThat(checks.failing("web")).containsExactly("api: connection refused");
    int pgRuns = runsOf("pg");
    assertThat(verdicts).doesNotContain("web [7] 0 []");

    checks.apply(List.of()); // web goes too: its vhid's demotion must not outlive its checks
    assertThat(verdicts).endsWith("web [7] 0 []");
    // the stopped checks no longer run (at most the run in flight ends)
    await()
        .during(Duration.ofMillis(2500))
        .atMost(Duration.ofSeconds(4))
        .until(() -> runsOf("pg") <= pgRuns + 1);
  }
}
