package dev.carpoperator.agent.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.engine.EngineListener.StateChange;
import dev.carpoperator.agent.metrics.AgentMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Against a real HTTP receiver on 127.0.0.1. */
class WebhookNotifierTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  static final StateChange CHANGE =
      new StateChange(
          "fw1",
          "eth0",
          10,
          CarpState.BACKUP,
          CarpState.MASTER,
          "master-down-timeout",
          0,
          0,
          Instant.parse("2025-01-02T03:04:05.678Z"));

  final List<String> bodies = Collections.synchronizedList(new ArrayList<>());
  final AtomicInteger requests = new AtomicInteger();
  final CountDownLatch neverAnswer = new CountDownLatch(1);
  HttpServer server;

  /**
   * A receiver answering request n (0-based) with {@code status.applyAsInt(n)}; -1 means never
   * answer.
   */
  URI receiver(IntUnaryOperator status) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext(
        "/carp",
        ex -> {
          int n = requests.getAndIncrement();
          String body =
              new String(
                  ex.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
          bodies.add(
              ex.getRequestMethod()
                  + " "
                  + ex.getRequestHeaders().getFirst("Content-Type")
                  + " "
                  + body);
          int code = status.applyAsInt(n);
          if (code < 0) {
            try {
              neverAnswer.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          ex.sendResponseHeaders(code < 0 ? 200 : code, -1);
          ex.close();
        });
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/carp");
  }

  @AfterEach
  void stop() {
    neverAnswer.countDown();
    if (server != null) server.stop(0);
  }

  @Test
  void eachChangeIsPostedAsJson() throws Exception {
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (var n =
        new WebhookNotifier(
            receiver(i -> 204), Duration.ofSeconds(2), 3, Duration.ofMillis(50), null, metrics)) {
      n.stateChanged(CHANGE);
      await()
          .atMost(WAIT)
          .until(() -> metrics.webhookDeliveries.labelValues("delivered").get() == 1);
    }
    assertThat(bodies).hasSize(1);
    assertThat(bodies.getFirst()).startsWith("POST application/json {");
    JsonNode json =
        new ObjectMapper().readTree(bodies.getFirst().substring(bodies.getFirst().indexOf('{')));
    assertThat(json.get("cluster").isNull()).isTrue();
    assertThat(json.get("vhid").asInt()).isEqualTo(10);
    assertThat(json.get("interface").asText()).isEqualTo("eth0");
    assertThat(json.get("node").asText()).isEqualTo("fw1");
    assertThat(json.get("from").asText()).isEqualTo("BACKUP");
    assertThat(json.get("to").asText()).isEqualTo("MASTER");
    assertThat(json.get("reason").asText()).isEqualTo("master-down-timeout");
    assertThat(json.get("time").asText()).isEqualTo("2025-01-02T03:04:05.678Z");
  }

  @Test
  void serverErrorsAreRetriedWithBackoff() throws Exception {
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (var n =
        new WebhookNotifier(
            receiver(i -> i < 2 ? 500 : 200),
            Duration.ofSeconds(2),
            3,
            Duration.ofMillis(50),
            "edge",
            metrics)) {
      n.stateChanged(CHANGE);
      await()
          .atMost(WAIT)
          .until(() -> metrics.webhookDeliveries.labelValues("delivered").get() == 1);
    }
    assertThat(requests.get()).isEqualTo(3);
    assertThat(metrics.webhookAttempts.labelValues("5xx").get()).isEqualTo(2);
    assertThat(bodies).allMatch(b -> b.contains("\"cluster\":\"edge\""));
  }

  @Test
  void aReceiverThatNeverAnswersTimesOutAndIsRetriedThenGivenUp() throws Exception {
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (var n =
        new WebhookNotifier(
            receiver(i -> -1), Duration.ofMillis(300), 2, Duration.ofMillis(50), null, metrics)) {
      n.stateChanged(CHANGE);
      await().atMost(WAIT).until(() -> metrics.webhookDeliveries.labelValues("failed").get() == 1);
    }
    assertThat(metrics.webhookAttempts.labelValues("timeout").get()).isEqualTo(3);
    assertThat(requests.get()).isEqualTo(3);
  }

  @Test
  void clientErrorsAreNotRetried() throws Exception {
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (var n =
        new WebhookNotifier(
            receiver(i -> 400), Duration.ofSeconds(2), 3, Duration.ofMillis(50), null, metrics)) {
      n.stateChanged(CHANGE);
      await().atMost(WAIT).until(() -> metrics.webhookDeliveries.labelValues("failed").get() == 1);
    }
    assertThat(requests.get()).isEqualTo(1);
  }

  @Test
  void aDeadReceiverCannotExhaustMemory() throws Exception {
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (var n =
        new WebhookNotifier(
            receiver(i -> -1), Duration.ofSeconds(30), 0, Duration.ofMillis(50), null, metrics)) {
      for (int i = 0; i < WebhookNotifier.QUEUE_CAPACITY + 100; i++) n.stateChanged(CHANGE);
      // one is in flight (hanging), the queue holds the capacity, the rest is dropped and counted
      await()
          .atMost(WAIT)
          .until(() -> metrics.webhookDeliveries.labelValues("dropped").get() >= 99);
      assertThat(metrics.webhookDeliveries.labelValues("dropped").get()).isLessThanOrEqualTo(100);
    }
  }

  @Test
  void anUnreachableReceiverIsCountedAsFailed() throws Exception {
    AgentMetrics metrics = new AgentMetrics(Map.of());
    int closedPort;
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    try (var n =
        new WebhookNotifier(
            URI.create("http://127.0.0.1:" + closedPort + "/carp"),
            Duration.ofSeconds(1),
            1,
            Duration.ofMillis(50),
            null,
            metrics)) {
      n.stateChanged(CHANGE);
      await().atMost(WAIT).until(() -> metrics.webhookDeliveries.labelValues("failed").get() == 1);
    }
    assertThat(metrics.webhookAttempts.labelValues("error").get()).isEqualTo(2);
  }
}
