package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/**
 * How the operator runs the agent DaemonSet for a cluster. Unset fields take the operator's
 * defaults.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AgentSpec {
  // Kept so that existing objects stay valid; never run: whoever may create a FirewallCluster would
  // otherwise choose
  // what runs as root with NET_ADMIN on the selected nodes.
  @JsonPropertyDescription(
      "Deprecated and ignored: the agent image is the operator's setting (the Helm chart's agent.image), so that creating a FirewallCluster cannot choose what runs privileged on the nodes. A value here gets a Warning Event.")
  private String image;

  @Pattern("^(Always|IfNotPresent|Never)$")
  @JsonPropertyDescription("Image pull policy: Always, IfNotPresent or Never.")
  private String imagePullPolicy;

  @JsonPropertyDescription("CPU and memory for the agent container.")
  private ResourceRequirements resources;

  @Default(AgentLimits.METRICS_PORT_DEFAULT_TEXT)
  @Min(AgentLimits.PORT_MIN)
  @Max(AgentLimits.PORT_MAX)
  @JsonPropertyDescription(
      "Port of the agent's Prometheus metrics and health endpoints (host network).")
  private Integer metricsPort = AgentLimits.METRICS_PORT_DEFAULT;

  @Default("json")
  @Pattern("^(json|text)$")
  @JsonPropertyDescription("Log format: json or text.")
  private String logFormat = "json";

  @Default("info")
  @Pattern("^(error|warn|info|debug|trace)$")
  @JsonPropertyDescription(
      "Log level of the agent's own loggers (libraries stay at info: at trace the Kubernetes client would log Secrets).")
  private String logLevel = "info";

  @JsonPropertyDescription("PriorityClass of the agent pods (e.g. system-node-critical).")
  private String priorityClassName;

  /** Deprecated, ignored by the operator. */
  public String getImage() {
    return image;
  }

  public void setImage(String image) {
    this.image = image;
  }

  public String getImagePullPolicy() {
    return imagePullPolicy;
  }

  public void setImagePullPolicy(String imagePullPolicy) {
    this.imagePullPolicy = imagePullPolicy;
  }

  public ResourceRequirements getResources() {
    return resources;
  }

  public void setResources(ResourceRequirements resources) {
    this.resources = resources;
  }

  public Integer getMetricsPort() {
    return metricsPort;
  }

  public void setMetricsPort(Integer metricsPort) {
    this.metricsPort = metricsPort;
  }

  public String getLogFormat() {
    return logFormat;
  }

  public void setLogFormat(String logFormat) {
    this.logFormat = logFormat;
  }

  public String getLogLevel() {
    return logLevel;
  }

  public void setLogLevel(String logLevel) {
    this.logLevel = logLevel;
  }

  public String getPriorityClassName() {
    return priorityClassName;
  }

  public void setPriorityClassName(String priorityClassName) {
    this.priorityClassName = priorityClassName;
  }
}
