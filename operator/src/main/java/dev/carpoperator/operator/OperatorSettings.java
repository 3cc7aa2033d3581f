package dev.carpoperator.operator;

import dev.carpoperator.api.v1alpha1.LoadBalancing;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Everything the operator is configured with, read once from the environment (the Helm chart sets
 * these) and used by both {@link OperatorMain} and the tests, so what is tested is what runs.
 *
 * @param namespace the operator's own namespace (its leader-election Lease)
 * @param agentNamespace namespace of the agent DaemonSets and of the Secrets they read: a namespace
 *     of their own by default, which Pod Security must allow to run privileged pods, so that the
 *     operator's namespace need not
 * @param agentImage the agent image (the chart's agent.image; FirewallClusters cannot choose it)
 * @param leaderElection whether to elect a leader among operator replicas (a Lease in {@code
 *     namespace})
 * @param identity this replica's name for leader election (the pod name)
 * @param healthPort port of /healthz, /readyz and /metrics; 0 to disable
 * @param exitOnLostLeadership exit the process when leadership is lost (a pod restarts and
 *     campaigns again); tests that stop an in-process operator turn it off
 * @param agentDefaults what an agent DaemonSet gets when its FirewallCluster's spec.agent leaves a
 *     field out
 * @param loadBalancerClass the {@code spec.loadBalancerClass} of the Services the operator serves
 * @param loadBalancerDefault whether it also serves LoadBalancer Services without a class
 */
public record OperatorSettings(
    String namespace,
    String agentNamespace,
    String agentImage,
    String imagePullPolicy,
    boolean leaderElection,
    String identity,
    int healthPort,
    boolean exitOnLostLeadership,
    AgentDefaults agentDefaults,
    String loadBalancerClass,
    boolean loadBalancerDefault) {

  public static final String DEFAULT_AGENT_IMAGE = "ghcr.io/carp-operator/carp-agent:0.1.0";

  /** The settings with the built-in agent defaults. */
  public OperatorSettings(
      String namespace,
      String agentNamespace,
      String agentImage,
      String imagePullPolicy,
      boolean leaderElection,
      String identity,
      int healthPort,
      boolean exitOnLostLeadership) {
    this(
        namespace,
        agentNamespace,
        agentImage,
        imagePullPolicy,
        leaderElection,
        identity,
        healthPort,
        exitOnLostLeadership,
        AgentDefaults.BUILT_IN,
        LoadBalancing.DEFAULT_CLASS,
        false);
  }

  public static OperatorSettings fromEnvironment(Map<String, String> env) {
    String namespace = env.getOrDefault("CARP_NAMESPACE", "carp-system");
    String agentNamespace = env.get("CARP_AGENT_NAMESPACE");
    return new OperatorSettings(
        namespace,
        agentNamespace == null || agentNamespace.isBlank() ? namespace : agentNamespace.strip(),
        env.getOrDefault("CARP_AGENT_IMAGE", DEFAULT_AGENT_IMAGE),
        env.getOrDefault("CARP_AGENT_IMAGE_PULL_POLICY", "IfNotPresent"),
        !"false".equalsIgnoreCase(env.getOrDefault("CARP_LEADER_ELECTION", "true")),
        env.getOrDefault("POD_NAME", "carp-operator-local"),
        Integer.parseInt(env.getOrDefault("CARP_HEALTH_PORT", "8080")),
        true,
        AgentDefaults.fromEnvironment(env),
        blankOr(env.get("CARP_LOAD_BALANCER_CLASS"), LoadBalancing.DEFAULT_CLASS),
        "true".equalsIgnoreCase(env.getOrDefault("CARP_LOAD_BALANCER_DEFAULT", "false")));
  }

  private static String blankOr(String value, String otherwise) {
    return value == null || value.isBlank() ? otherwise : value.strip();
  }

  /**
   * JOSDK settings. Server-side apply stays on (JOSDK's default): it is exercised against a real
   * API server.
   */
  public void configure(ConfigurationServiceOverrider o) {
    o.withStopOnInformerErrorDuringStartup(false);
    if (leaderElection) {
      // Not JOSDK's exitOnStopLeading: it calls System.exit from the leader elector, also when the
      // shutdown hook
      // stops the operator after SIGTERM, and System.exit inside a shutdown hook blocks forever
      // (the pod then
      // waits for SIGKILL at the end of its grace period).
      var builder =
          LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration("carp-operator")
              .withLeaseNamespace(namespace)
              .withIdentity(identity)
              .withExitOnStopLeading(false);
      if (exitOnLostLeadership)
        builder.withLeaderCallbacks(
            new LeaderCallbacks(() -> {}, OperatorSettings::exitAfterLostLeadership, id -> {}));
      o.withLeaderElectionConfiguration(builder.build());
    }
  }

  /**
   * Leadership lost while running: exit, so that the pod restarts and campaigns again. Not when the
   * JVM is already shutting down (then the operator is being stopped on purpose). The exit runs on
   * its own thread so that the leader elector's thread returns and the shutdown hook can stop the
   * operator.
   */
  static void exitAfterLostLeadership() {
    Thread probe = new Thread(() -> {});
    try {
      Runtime.getRuntime()
          .addShutdownHook(probe); // throws IllegalStateException once shutdown has begun
      Runtime.getRuntime().removeShutdownHook(probe);
    } catch (IllegalStateException shuttingDown) {
      return;
    }
    LoggerFactory.getLogger(OperatorSettings.class)
        .warn("lost the leadership of carp-operator: exiting so that a restart campaigns again");
    new Thread(() -> System.exit(1), "carp-operator-exit").start();
  }

  /**
   * Defaults for the fields of FirewallCluster.spec.agent that the API leaves unset (the Helm
   * chart's {@code agent.*} values), from CARP_AGENT_PRIORITY_CLASS_NAME and CARP_AGENT_RESOURCES
   * (a JSON ResourceRequirements). The image and pull policy are {@link #agentImage} and {@link
   * #imagePullPolicy}; logLevel, logFormat and metricsPort have defaults in the API itself (the
   * CRD's), so they are set per FirewallCluster.
   */
  public record AgentDefaults(
      String priorityClassName,
      ResourceRequirements resources,
      String runtimeDirectory,
      List<String> secretNames) {
    /**
     * The host directory of the agents' runtime files (the record of the addresses they added): a
     * tmpfs.
     */
    public static final String DEFAULT_RUNTIME_DIRECTORY = "/run/carp-operator";

    public static final AgentDefaults BUILT_IN =
        new AgentDefaults(
            null,
            new ResourceRequirementsBuilder()
                .addToRequests("cpu", new Quantity("20m"))
                .addToRequests("memory", new Quantity("96Mi"))
                .addToLimits("memory", new Quantity("384Mi"))
                .build(),
            DEFAULT_RUNTIME_DIRECTORY,
            List.of()); // ./carp bench scale: ~250 MiB RSS with 1,000 addresses

    public static AgentDefaults fromEnvironment(Map<String, String> env) {
      ResourceRequirements resources = BUILT_IN.resources;
      String json = blankToNull(env.get("CARP_AGENT_RESOURCES"));
      if (json != null) {
        try {
          resources = Serialization.unmarshal(json, ResourceRequirements.class);
        } catch (RuntimeException e) {
          throw new IllegalArgumentException(
              "CARP_AGENT_RESOURCES must be a JSON object like {\"requests\":{\"cpu\":\"20m\"}}: "
                  + e.getMessage(),
              e);
        }
      }
      String runtimeDirectory = blankToNull(env.get("CARP_AGENT_RUNTIME_DIRECTORY"));
      if (runtimeDirectory != null && !runtimeDirectory.startsWith("/")) {
        throw new IllegalArgumentException(
            "CARP_AGENT_RUNTIME_DIRECTORY must be an absolute path on the nodes, got "
                + runtimeDirectory);
      }
      return new AgentDefaults(
          blankToNull(env.get("CARP_AGENT_PRIORITY_CLASS_NAME")),
          resources,
          runtimeDirectory == null ? DEFAULT_RUNTIME_DIRECTORY : runtimeDirectory,
          secretNames(env.get("CARP_AGENT_SECRET_NAMES")));
    }

    /** Comma-separated; blank: the agents read every Secret of their namespace. */
    static List<String> secretNames(String value) {
      if (value == null || value.isBlank()) return List.of();
      return java.util.Arrays.stream(value.split(","))
          .map(String::strip)
          .filter(n -> !n.isEmpty())
          .distinct()
          .toList();
    }

    private static String blankToNull(String s) {
      return s == null || s.isBlank() ? null : s.strip();
    }
  }
}
