package dev.carpoperator.agent.metrics;

import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.carp.RejectionCounters;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The agent's Prometheus metrics (prometheus-metrics 1.x). One registry per agent so tests can run
 * several agents in one JVM; {@link #serve(int)} exposes it on /metrics.
 */
public final class AgentMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();

  /** 0 INIT, 1 BACKUP, 2 MASTER (OpenBSD's numbering). */
  public final Gauge vhidState =
      Gauge.builder()
          .name("carp_vhid_state")
          .help("CARP state per vhid: 0 INIT, 1 BACKUP, 2 MASTER")
          .labelNames("interface", "vhid")
          .register(registry);

  public final Counter advertsSent =
      Counter.builder()
          .name("carp_adverts_sent_total")
          .help("CARP advertisements sent")
          .labelNames("interface", "vhid")
          .register(registry);
  public final Counter advertsReceived =
      Counter.builder()
          .name("carp_adverts_received_total")
          .help("Valid CARP advertisements received")
          .labelNames("interface", "vhid")
          .register(registry);
  public final Counter transitions =
      Counter.builder()
          .name("carp_state_transitions_total")
          .help("CARP state changes")
          .labelNames("interface", "vhid", "from", "to", "reason")
          .register(registry);
  public final Counter sendErrors =
      Counter.builder()
          .name("carp_send_errors_total")
          .help("Advertisements that could not be sent")
          .labelNames("interface")
          .register(registry);
  public final Counter framesDropped =
      Counter.builder()
          .name("carp_frames_dropped_total")
          .help(
              "Received frames dropped before CARP validation, by reason: the frame parser's (not_ip, ipv4_bad_checksum, ipv4_fragment, ...; lower-case FrameParser.Reason) or error")
          .labelNames("reason")
          .register(registry);
  public final Gauge demotion =
      Gauge.builder()
          .name("carp_demotion")
          .help("Demotion count this node advertises (sum of its demotion counters, capped at 255)")
          .register(registry);
  // Health checks (dev.carpoperator.agent.health)
  public final Gauge healthCheckUp =
      Gauge.builder()
          .name("carp_health_check_up")
          .help(
              "1 while a health check of an address passes on this node, 0 while it fails (and demotes the node for that address by its weight)")
          .labelNames("address", "check")
          .register(registry);
  public final Counter healthCheckRuns =
      Counter.builder()
          .name("carp_health_check_runs_total")
          .help("Runs of a health check, by result (ok, failed)")
          .labelNames("address", "check", "result")
          .register(registry);
  public final Histogram addressChangeSeconds =
      Histogram.builder()
          .name("carp_address_change_seconds")
          .help("Time to add or remove the virtual addresses and announce them")
          .labelNames("operation")
          .classicUpperBounds(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1)
          .register(registry);
  public final Counter addressChangeErrors =
      Counter.builder()
          .name("carp_address_change_errors_total")
          .help("Failed address changes")
          .labelNames("operation")
          .register(registry);

  public final Histogram loadShareUpdateSeconds =
      Histogram.builder()
          .name("carp_load_share_update_seconds")
          .help("Time to replace the load-sharing nftables rules (one nft -f transaction)")
          .classicUpperBounds(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1)
          .register(registry);
  public final Counter loadShareUpdateErrors =
      Counter.builder()
          .name("carp_load_share_update_errors_total")
          .help("Failed updates of the load-sharing nftables rules (retried every second)")
          .register(registry);

  // State-change actions and notifications (dev.carpoperator.agent.actions / .notify)
  public final Counter actions =
      Counter.builder()
          .name("carp_actions_total")
          .help(
              "State-change actions run, by trigger (startup, master, backup, shutdown), kind (link, address, route, command) and result (ok, failed, timeout, skipped)")
          .labelNames("trigger", "kind", "result")
          .register(registry);
  public final Histogram actionSeconds =
      Histogram.builder()
          .name("carp_action_seconds")
          .help("Time one state-change action took")
          .labelNames("kind")
          .classicUpperBounds(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5, 30)
          .register(registry);
  public final Gauge actionsFailing =
      Gauge.builder()
          .name("carp_actions_failing")
          .help("Actions that failed or timed out in the latest run (0: the latest run succeeded)")
          .register(registry);
  public final Counter webhookDeliveries =
      Counter.builder()
          .name("carp_webhook_notifications_total")
          .help(
              "State-change notifications to the webhook, by result (delivered, failed after all retries, dropped because the queue was full)")
          .labelNames("result")
          .register(registry);
  public final Counter webhookAttempts =
      Counter.builder()
          .name("carp_webhook_attempts_total")
          .help("HTTP POSTs to the webhook, by outcome (2xx, 4xx, 5xx, error, timeout)")
          .labelNames("outcome")
          .register(registry);

  public AgentMetrics(Map<String, RejectionCounters> rejectionsByInterface) {
    CounterWithCallback.builder()
        .name("carp_adverts_rejected_total")
        .help(
            "Received CARP packets rejected, by interface and reason (checked in OpenBSD's order)")
        .labelNames("interface", "reason")
        .callback(
            cb ->
                rejectionsByInterface.forEach(
                    (ifname, counters) -> {
                      for (RejectReason r : RejectReason.values())
                        cb.call(counters.rejected(r), ifname, r.name().toLowerCase());
                    }))
        .register(registry);
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  /**
   * Starts the /metrics HTTP endpoint on all addresses (host network: Prometheus scrapes the node).
   */
  public HTTPServer serve(int port) throws IOException {
    return serve(port, () -> true);
  }

  /**
   * /metrics, /-/healthy (alive) and /-/ready: 200 once {@code ready} says so, else 503. The
   * DaemonSet's readiness probe uses /-/ready, so a rolling update waits until the restarted agent
   * runs and has its peers' connection states (the sync's bulk update) before it restarts the next
   * node, the master perhaps.
   */
  public HTTPServer serve(int port, BooleanSupplier ready) throws IOException {
    return serve(null, port, ready);
  }

  /**
   * As {@link #serve(int, BooleanSupplier)}, bound to {@code address} (an IP literal), or to every
   * address when null. On the host network every address includes a firewall's outside and the
   * virtual addresses.
   */
  public HTTPServer serve(String address, int port, BooleanSupplier ready) throws IOException {
    HTTPServer.Builder builder = HTTPServer.builder();
    if (address != null && !address.isBlank()) builder.hostname(address.strip());
    return builder
        .port(port)
        .registry(registry)
        .defaultHandler(
            exchange -> {
              try (exchange) {
                boolean isReady = "/-/ready".equals(exchange.getRequestURI().getPath());
                int code = !isReady ? 404 : ready.getAsBoolean() ? 200 : 503;
                byte[] body =
                    (!isReady
                            ? "carp-agent: /metrics, /-/healthy, /-/ready\n"
                            : code == 200
                                ? "ready\n"
                                : "not ready: starting, or waiting for the peers' connection states\n")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(code, body.length);
                exchange.getResponseBody().write(body);
              }
            })
        .buildAndStart();
  }

  /** Records the health checks' runs. */
  public dev.carpoperator.agent.health.HealthChecks.Observer healthObserver() {
    return (address, check, error, passing) -> {
      healthCheckRuns.labelValues(address, check, error == null ? "ok" : "failed").inc();
      healthCheckUp.labelValues(address, check).set(passing ? 1 : 0);
    };
  }
}
