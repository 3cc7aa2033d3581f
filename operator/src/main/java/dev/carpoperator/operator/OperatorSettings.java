package dev.carpoperator.operator;

import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
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
 */
public record OperatorSettings(String agentNamespace, String agentImage, String imagePullPolicy, boolean leaderElection,
    String identity, int healthPort, boolean exitOnLostLeadership) {

  public static final String DEFAULT_AGENT_IMAGE = "ghcr.io/carp-operator/carp-agent:0.1.0";

  public static OperatorSettings fromEnvironment(Map<String, String> env) {
    return new OperatorSettings(
        env.getOrDefault("CARP_NAMESPACE", "carp-system"),
        env.getOrDefault("CARP_AGENT_IMAGE", DEFAULT_AGENT_IMAGE),
        env.getOrDefault("CARP_AGENT_IMAGE_PULL_POLICY", "IfNotPresent"),
        !"false".equalsIgnoreCase(env.getOrDefault("CARP_LEADER_ELECTION", "true")),
        env.getOrDefault("POD_NAME", "carp-operator-local"),
        Integer.parseInt(env.getOrDefault("CARP_HEALTH_PORT", "8080")),
        true);
  }

  /** JOSDK settings. Server-side apply stays on (JOSDK's default): it is exercised against a real API server. */
  public void configure(ConfigurationServiceOverrider o) {
    o.withStopOnInformerErrorDuringStartup(false);
    if (leaderElection) {
      o.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration("carp-operator")
          .withLeaseNamespace(agentNamespace).withIdentity(identity).withExitOnStopLeading(exitOnLostLeadership).build());
    }
  }
}
