package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.netns.LabProcess;
import java.time.Duration;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * A health check moves the address: two agents in their own network namespaces, each checking an
 * HTTP server on its own loopback (socat, started and stopped by the test, stands in for the
 * service the address fronts). When the master's server stops, its check fails, its demotion for
 * the vhid rises and the backup takes over; when the server is back, the preferred node preempts.
 */
class HealthCheckFailoverTest {
  static final String VIP = "192.0.2.100";
  static final Duration ELECTION = Duration.ofSeconds(25);
  static final int PORT = 7000;

  static String config(String node, int advskew) {
    return AgentLab.config(node, 1, advskew, true, "secret", VIP + "/24")
            .replace("logFormat: json", "logFormat: json\nmetricsPort: 9402")
        + """
            healthChecks:
              - name: web
                http: {port: %d, path: /healthz}
                periodSeconds: 1
                failureThreshold: 2
                weight: 10
        """
            .formatted(PORT);
  }

  /** A one-line HTTP server on the host's loopback: 200 to every request. */
  static LabProcess webServer(AgentLab l, String host) {
    return l.lab
        .host(host)
        .start(
            host + "-web",
            "socat",
            "TCP-LISTEN:" + PORT + ",bind=127.0.0.1,fork,reuseaddr",
            // socat strips quotes from its address: echo, whose words need none
            "SYSTEM:echo HTTP/1.0 200 OK");
  }

  @Test
  void theMasterWhoseCheckFailsGivesTheAddressUpAndTakesItBackWhenItPasses() {
    try (AgentLab l = new AgentLab().hosts("a", "b")) {
      LabProcess webA = webServer(l, "a");
      webServer(l, "b");
      l.startAgent("a", config("a", 0));
      l.awaitStarted("a", ELECTION);
      l.startAgent("b", config("b", 100));
      l.awaitReady("b", ELECTION);
      l.awaitOnlyHolder(VIP, "a", ELECTION);
      awaitCheckUp(l, "a"); // both checks have run and pass before the fault
      awaitCheckUp(l, "b");

      webA.stop(Duration.ofSeconds(5));
      l.awaitOnlyHolder(VIP, "b", ELECTION);
      assertThat(l.agent("a").output())
          .contains("\"event\":\"health-fail\"", "\"check\":\"web\"", "connection refused");
      assertThat(l.agent("b").output()).contains("\"reason\":\"peer-demoted\"");
      String metricsA = Metrics.scrape(l.lab.host("a"), 9402);
      assertThat(metricsA).contains(upLine(0));
      assertThat(metricsA)
          .as("the check demotes the vhid, not the node")
          .containsPattern("(?m)^carp_demotion 0\\.0$");

      webServer(l, "a");
      l.awaitOnlyHolder(VIP, "a", ELECTION); // preempt: healthy again and preferred
      assertThat(l.agent("a").output()).contains("\"event\":\"health-pass\"");
    }
  }

  static void awaitCheckUp(AgentLab l, String host) {
    try {
      await()
          .atMost(ELECTION)
          .ignoreExceptions() // the metrics port opens with the agent
          .until(() -> Metrics.scrape(l.lab.host(host), 9402).contains(upLine(1)));
    } catch (ConditionTimeoutException e) {
      String scrape;
      try {
        scrape = Metrics.scrape(l.lab.host(host), 9402);
      } catch (RuntimeException x) {
        scrape = x.toString();
      }
      throw new AssertionError(
          host
              + "'s check never passed. Its health metrics:\n"
              + scrape.lines().filter(x -> x.contains("health")).toList()
              + "\nAgent logs:\n"
              + l.logTails(),
          e);
    }
  }

  static String upLine(int value) {
    return "carp_health_check_up{address=\"vhid 1\",check=\"web\"} " + value + ".0";
  }
}
