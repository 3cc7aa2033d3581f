package dev.carpoperator.operator;

import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The operator's metrics: JOSDK's reconciliation metrics plus what users graph and alert on
 * (failovers and the problems reported as Events, by reason), served in Prometheus format on
 * /metrics.
 */
public final class OperatorMetrics {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** For JOSDK; per-resource metrics are off (one series per VirtualAddress would not scale). */
  public MicrometerMetrics josdk() {
    return MicrometerMetrics.withoutPerResourceMetrics(registry);
  }

  /** An Event recorded on a VirtualAddress (MasterChanged counts failovers). */
  public void event(String reason, boolean warning) {
    Counter.builder("carp_operator_events")
        .description("Events recorded on VirtualAddresses, by reason")
        .tag("reason", reason)
        .tag("type", warning ? "Warning" : "Normal")
        .register(registry)
        .increment();
  }

  public String scrape() {
    return registry.scrape();
  }
}
