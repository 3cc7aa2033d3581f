package dev.carpoperator.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The agent's HTTP endpoints on loopback: the readiness the DaemonSet probes follows the supplier.
 */
class AgentMetricsEndpointTest {
  @Test
  void readyAnswers503UntilTheAgentIsReadyWhileHealthyAndMetricsAnswerAtOnce() throws Exception {
    AtomicBoolean ready = new AtomicBoolean();
    try (var server = new AgentMetrics(Map.of()).serve(0, ready::get);
        HttpClient http = HttpClient.newHttpClient()) {
      String base = "http://127.0.0.1:" + server.getPort();
      assertThat(get(http, base + "/-/ready").statusCode()).isEqualTo(503);
      assertThat(get(http, base + "/-/ready").body())
          .contains("waiting for the peers' connection states");
      assertThat(get(http, base + "/-/healthy").statusCode()).isEqualTo(200);
      assertThat(get(http, base + "/metrics").body()).contains("carp_demotion");
      assertThat(get(http, base + "/nothing").statusCode()).isEqualTo(404);
      ready.set(true);
      assertThat(get(http, base + "/-/ready").statusCode()).isEqualTo(200);
    }
  }

  /**
   * With an address set, nothing answers on the host's other addresses (on a firewall: its outside,
   * the VIPs).
   */
  @Test
  void aBindAddressKeepsTheEndpointsOffTheOtherAddresses() throws Exception {
    try (var server = new AgentMetrics(Map.of()).serve("127.0.0.1", 0, () -> true);
        HttpClient http = HttpClient.newHttpClient()) {
      assertThat(get(http, "http://127.0.0.1:" + server.getPort() + "/-/ready").statusCode())
          .isEqualTo(200);
      // 127.0.0.2 is another address of the loopback interface (127.0.0.0/8 is local on Linux)
      assertThatThrownBy(() -> get(http, "http://127.0.0.2:" + server.getPort() + "/-/ready"))
          .isInstanceOf(ConnectException.class);
    }
    try (var server = new AgentMetrics(Map.of()).serve(null, 0, () -> true);
        HttpClient http = HttpClient.newHttpClient()) {
      assertThat(get(http, "http://127.0.0.2:" + server.getPort() + "/-/ready").statusCode())
          .as("the default: every address")
          .isEqualTo(200);
    }
  }

  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
