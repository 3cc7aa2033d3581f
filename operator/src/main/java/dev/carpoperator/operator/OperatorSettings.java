package dev.carpoperator.operator;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import java.util.List;
import java.util.Map;

/**
 * Everything the operator is configured with, read once from the environment (the Helm chart sets these) and
 * used by both {@link OperatorMain} and the tests, so what is tested is what runs.
 *
 * @param agentNamespace namespace of the agent DaemonSets (the operator's own namespace)
 * @param agentImage default agent image, when a FirewallCluster does not name one
 * @param leaderElection whether to elect a leader among operator replicas (a Lease in agentNamespace)
 * @param identity this replica's name for leader election (the pod name)
 * @param healthPort port of /healthz, /readyz and /metrics; 0 to disable
 * @param exitOnLostLeadership exit the process when leadership is lost (a pod restarts and campaigns again);
 *     tests that stop an in-process operator turn it off
 * @param agentDefaults what an agent DaemonSet gets when its FirewallCluster's spec.agent leaves a field out
 */
public record OperatorSettings(String agentNamespace, String agentImage, String imagePullPolicy, boolean leaderElection,
    String identity, int healthPort, boolean exitOnLostLeadership, AgentDefaults agentDefaults) {

  public static final String DEFAULT_AGENT_IMAGE = "ghcr.io/carp-operator/carp-agent:0.1.0";

  /** The settings with the built-in agent defaults. */
  public OperatorSettings(String agentNamespace, String agentImage, String imagePullPolicy, boolean leaderElection,
      String identity, int healthPort, boolean exitOnLostLeadership) {
    this(agentNamespace, agentImage, imagePullPolicy, leaderElection, identity, healthPort, exitOnLostLeadership, AgentDefaults.BUILT_IN);
  }

  public static OperatorSettings fromEnvironment(Map<String, String> env) {
    return new OperatorSettings(
        env.getOrDefault("CARP_NAMESPACE", "carp-system"),
        env.getOrDefault("CARP_AGENT_IMAGE", DEFAULT_AGENT_IMAGE),
        env.getOrDefault("CARP_AGENT_IMAGE_PULL_POLICY", "IfNotPresent"),
        !"false".equalsIgnoreCase(env.getOrDefault("CARP_LEADER_ELECTION", "true")),
        env.getOrDefault("POD_NAME", "carp-operator-local"),
        Integer.parseInt(env.getOrDefault("CARP_HEALTH_PORT", "8080")),
        true,
        AgentDefaults.fromEnvironment(env));
  }

  /** JOSDK settings. Server-side apply stays on (JOSDK's default): it is exercised against a real API server. */
  public void configure(ConfigurationServiceOverrider o) {
    o.withStopOnInformerErrorDuringStartup(false);
    if (leaderElection) {
      o.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration("carp-operator")
          .withLeaseNamespace(agentNamespace).withIdentity(identity).withExitOnStopLeading(exitOnLostLeadership).build());
    }
  }

  /**
   * Defaults for the fields of FirewallCluster.spec.agent (the Helm chart's {@code agent.*} values), from
   * CARP_AGENT_LOG_LEVEL, CARP_AGENT_LOG_FORMAT, CARP_AGENT_METRICS_PORT, CARP_AGENT_PRIORITY_CLASS_NAME and
   * CARP_AGENT_RESOURCES (a JSON ResourceRequirements).
   */
  public record AgentDefaults(String logLevel, String logFormat, int metricsPort, String priorityClassName,
      ResourceRequirements resources) {
    static final List<String> LOG_LEVELS = List.of("error", "warn", "info", "debug", "trace");
    static final List<String> LOG_FORMATS = List.of("json", "text");

    public static final AgentDefaults BUILT_IN = new AgentDefaults("info", "json", 9402, null, new ResourceRequirementsBuilder()
        .addToRequests("cpu", new Quantity("20m")).addToRequests("memory", new Quantity("96Mi"))
        .addToLimits("memory", new Quantity("192Mi")).build());

    public static AgentDefaults fromEnvironment(Map<String, String> env) {
      String level = oneOf(env, "CARP_AGENT_LOG_LEVEL", BUILT_IN.logLevel, LOG_LEVELS);
      String format = oneOf(env, "CARP_AGENT_LOG_FORMAT", BUILT_IN.logFormat, LOG_FORMATS);
      int port = BUILT_IN.metricsPort;
      String portText = blankToNull(env.get("CARP_AGENT_METRICS_PORT"));
      if (portText != null) {
        try {
          port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
          port = -1;
        }
        if (port < 1 || port > 65535) throw new IllegalArgumentException("CARP_AGENT_METRICS_PORT must be a port number (1-65535), not " + portText);
      }
      ResourceRequirements resources = BUILT_IN.resources;
      String json = blankToNull(env.get("CARP_AGENT_RESOURCES"));
      if (json != null) {
        try {
          resources = Serialization.unmarshal(json, ResourceRequirements.class);
        } catch (RuntimeException e) {
          throw new IllegalArgumentException("CARP_AGENT_RESOURCES must be a JSON object like {\"requests\":{\"cpu\":\"20m\"}}: " + e.getMessage(), e);
        }
      }
      return new AgentDefaults(level, format, port, blankToNull(env.get("CARP_AGENT_PRIORITY_CLASS_NAME")), resources);
    }

    private static String oneOf(Map<String, String> env, String name, String fallback, List<String> allowed) {
      String value = blankToNull(env.get(name));
      if (value == null) return fallback;
      if (!allowed.contains(value)) throw new IllegalArgumentException(name + " must be one of " + allowed + ", not " + value);
      return value;
    }

    private static String blankToNull(String s) {
      return s == null || s.isBlank() ? null : s.strip();
    }
  }
}
