package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.Objects;

/**
 * A check each node's agent runs for an address (keepalived's track_script and real-server checks,
 * kube-vip's control-plane check): while it fails, the node's demotion for that address grows by
 * {@code weight}, so a healthy node takes the address over. Intervals and thresholds follow
 * Kubernetes probes.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "has(self.tcp) != has(self.http)",
    message = "a health check is either tcp or http: set exactly one of them")
public class HealthCheck {
  @Required
  @Pattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
  @JsonPropertyDescription(
      "Name of the check, unique in the list: shown in status (failingChecks), metrics and logs.")
  private String name;

  @JsonPropertyDescription("Pass when a TCP connection opens.")
  private TcpCheck tcp;

  @JsonPropertyDescription("Pass when an HTTP(S) GET answers 200-399.")
  private HttpCheck http;

  @Default(AgentLimits.HEALTH_PERIOD_SECONDS_DEFAULT_TEXT)
  @Min(AgentLimits.HEALTH_PERIOD_SECONDS_MIN)
  @Max(AgentLimits.HEALTH_PERIOD_SECONDS_MAX)
  @JsonPropertyDescription("Seconds between two runs of the check.")
  private Integer periodSeconds = AgentLimits.HEALTH_PERIOD_SECONDS_DEFAULT;

  @Default(AgentLimits.HEALTH_TIMEOUT_SECONDS_DEFAULT_TEXT)
  @Min(AgentLimits.HEALTH_TIMEOUT_SECONDS_MIN)
  @Max(AgentLimits.HEALTH_TIMEOUT_SECONDS_MAX)
  @JsonPropertyDescription("Seconds a run may take before it counts as failed.")
  private Integer timeoutSeconds = AgentLimits.HEALTH_TIMEOUT_SECONDS_DEFAULT;

  @Default(AgentLimits.HEALTH_FAILURE_THRESHOLD_DEFAULT_TEXT)
  @Min(AgentLimits.HEALTH_THRESHOLD_MIN)
  @Max(AgentLimits.HEALTH_THRESHOLD_MAX)
  @JsonPropertyDescription("Failed runs in a row after which a passing check fails.")
  private Integer failureThreshold = AgentLimits.HEALTH_FAILURE_THRESHOLD_DEFAULT;

  @Default(AgentLimits.HEALTH_SUCCESS_THRESHOLD_DEFAULT_TEXT)
  @Min(AgentLimits.HEALTH_THRESHOLD_MIN)
  @Max(AgentLimits.HEALTH_THRESHOLD_MAX)
  @JsonPropertyDescription("Passed runs in a row after which a failing check passes.")
  private Integer successThreshold = AgentLimits.HEALTH_SUCCESS_THRESHOLD_DEFAULT;

  @Default(AgentLimits.HEALTH_WEIGHT_DEFAULT_TEXT)
  @Min(AgentLimits.HEALTH_WEIGHT_MIN)
  @Max(AgentLimits.HEALTH_WEIGHT_MAX)
  @JsonPropertyDescription(
      "Demotion added to this node's adverts for the address while the check fails. Any weight moves the address to a node whose checks pass; larger weights rank nodes that fail several checks.")
  private Integer weight = AgentLimits.HEALTH_WEIGHT_DEFAULT;

  public HealthCheck() {}

  public static HealthCheck tcp(String name, String host, int port) {
    HealthCheck c = new HealthCheck();
    c.name = name;
    c.tcp = new TcpCheck(host, port);
    return c;
  }

  public static HealthCheck http(String name, HttpCheck http) {
    HealthCheck c = new HealthCheck();
    c.name = name;
    c.http = http;
    return c;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public TcpCheck getTcp() {
    return tcp;
  }

  public void setTcp(TcpCheck tcp) {
    this.tcp = tcp;
  }

  public HttpCheck getHttp() {
    return http;
  }

  public void setHttp(HttpCheck http) {
    this.http = http;
  }

  public Integer getPeriodSeconds() {
    return periodSeconds;
  }

  public void setPeriodSeconds(Integer periodSeconds) {
    this.periodSeconds = periodSeconds;
  }

  public Integer getTimeoutSeconds() {
    return timeoutSeconds;
  }

  public void setTimeoutSeconds(Integer timeoutSeconds) {
    this.timeoutSeconds = timeoutSeconds;
  }

  public Integer getFailureThreshold() {
    return failureThreshold;
  }

  public void setFailureThreshold(Integer failureThreshold) {
    this.failureThreshold = failureThreshold;
  }

  public Integer getSuccessThreshold() {
    return successThreshold;
  }

  public void setSuccessThreshold(Integer successThreshold) {
    this.successThreshold = successThreshold;
  }

  public Integer getWeight() {
    return weight;
  }

  public void setWeight(Integer weight) {
    this.weight = weight;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HealthCheck h
        && Objects.equals(name, h.name)
        && Objects.equals(tcp, h.tcp)
        && Objects.equals(http, h.http)
        && Objects.equals(periodSeconds, h.periodSeconds)
        && Objects.equals(timeoutSeconds, h.timeoutSeconds)
        && Objects.equals(failureThreshold, h.failureThreshold)
        && Objects.equals(successThreshold, h.successThreshold)
        && Objects.equals(weight, h.weight);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, tcp, http, periodSeconds, timeoutSeconds, weight);
  }
}
