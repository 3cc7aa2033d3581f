package dev.carpoperator.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The agent's HTTP endpoints on loopback: the readiness the DaemonSet probes follows the supplier. */
class AgentMetricsEndpointTest {
  @Test
  void readyAnswers503UntilTheAgentIsReadyWhileHealthyAndMetricsAnswerAtOnce() throws Exception {
    AtomicBoolean ready = new AtomicBoolean();
    try (var server = new AgentMetrics(Map.of()).serve(0, ready::get); HttpClient http = HttpClient.newHttpClient()) {
      String base = "http://127.0.0.1:" + server.getPort();
      assertThat(get(http, base + "/-/ready").statusCode()).isEqualTo(503);
      assertThat(get(http, base + "/-/ready").body()).contains("waiting for the peers' connection states");
      assertThat(get(http, base + "/-/healthy").statusCode()).isEqualTo(200);
      assertThat(get(http, base + "/metrics").body()).contains("carp_demotion");
      assertThat(get(http, base + "/nothing").statusCode()).isEqualTo(404);
      ready.set(true);
      assertThat(get(http, base + "/-/ready").statusCode()).isEqualTo(200);
    }
  }

  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
