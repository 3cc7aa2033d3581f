package dev.carpoperator.operator.cluster;

import dev.carpoperator.api.v1alpha1.AgentLimits;
import dev.carpoperator.api.v1alpha1.AgentSpec;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.operator.OperatorSettings;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent DaemonSet of a FirewallCluster: a pure function of the cluster and the operator
 * settings.
 */
public final class AgentDaemonSets {
  public static final String MANAGED_BY = "carp-operator";
  public static final String CLUSTER_LABEL = "carp-operator.dev/cluster";
  public static final String AGENT_SERVICE_ACCOUNT = "carp-agent";

  /**
   * The node label the examples and docs select agent nodes with: the NodeRestriction admission
   * plugin keeps a kubelet from setting labels under this prefix on its own Node, so a node cannot
   * volunteer for the agents (and their CARP and sync keys).
   */
  public static final String RESTRICTED_LABEL_PREFIX = "node-restriction.kubernetes.io/";

  public static final String RECOMMENDED_NODE_LABEL = RESTRICTED_LABEL_PREFIX + "carp-cluster";

  /**
   * Where the agents' runtime files (the address record) are in the container; the host directory
   * is a setting.
   */
  public static final String RUNTIME_DIR = "/run/carp-operator";

  static final String RUNTIME_VOLUME = "run";

  /**
   * Agents without state sync run on the JIT's first tier only (C1): what they run is not hot
   * enough for C2 to pay, and C2's compilations were most of an agent's CPU while 1,000 addresses
   * arrived (competing with the API server on small nodes) and left it about 20 MiB more resident
   * (./carp bench scale; docs/benchmarks.md). State sync's packet path needs C2: under C1 an agent
   * followed 14,000 conntrack changes a second instead of 40,000 (./carp bench sync), so a cluster
   * with {@code spec.sync} keeps the default compilers. The java launcher reads {@code
   * JDK_JAVA_OPTIONS} before the image's own options.
   */
  static final String JIT_ENV = "JDK_JAVA_OPTIONS";

  static final String C1_ONLY = "-XX:TieredStopAtLevel=1";

  private AgentDaemonSets() {}

  public static String name(FirewallCluster cluster) {
    return "carp-agent-" + cluster.getMetadata().getName();
  }

  public static Map<String, String> selectorLabels(FirewallCluster cluster) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("app.kubernetes.io/name", "carp-agent");
    labels.put("app.kubernetes.io/instance", cluster.getMetadata().getName());
    return labels;
  }

  /** NET_ADMIN and NET_RAW, and SYS_NICE when the sync threads are to run at real-time priority. */
  static List<String> capabilities(FirewallCluster cluster) {
    var sync = cluster.getSpec().getSync();
    boolean realtime =
        sync != null && sync.getRealtimePriority() != null && sync.getRealtimePriority() > 0;
    return realtime ? List.of("NET_ADMIN", "NET_RAW", "SYS_NICE") : List.of("NET_ADMIN", "NET_RAW");
  }

  public static DaemonSet desired(FirewallCluster cluster, OperatorSettings settings) {
    AgentSpec agent =
        cluster.getSpec().getAgent() == null ? new AgentSpec() : cluster.getSpec().getAgent();
    OperatorSettings.AgentDefaults defaults = settings.agentDefaults();
    int metricsPort =
        agent.getMetricsPort() == null ? AgentLimits.METRICS_PORT_DEFAULT : agent.getMetricsPort();
    Map<String, String> labels = new LinkedHashMap<>(selectorLabels(cluster));
    labels.put("app.kubernetes.io/component", "agent");
    labels.put("app.kubernetes.io/managed-by", MANAGED_BY);
    labels.put(CLUSTER_LABEL, cluster.getMetadata().getName());

    var container =
        new ContainerBuilder()
            .withName("agent")
            .withImage(settings.agentImage()) // never spec.agent.image: see AgentSpec
            .withImagePullPolicy(
                agent.getImagePullPolicy() != null
                    ? agent.getImagePullPolicy()
                    : settings.imagePullPolicy())
            .withArgs("--kubernetes", "--cluster", cluster.getMetadata().getName())
            .withEnv(
                new EnvVarBuilder()
                    .withName("NODE_NAME")
                    .withNewValueFrom()
                    .withNewFieldRef()
                    .withApiVersion(
                        "v1") // the API server's default: without it, a patch each reconcile
                    .withFieldPath("spec.nodeName")
                    .endFieldRef()
                    .endValueFrom()
                    .build(),
                new EnvVarBuilder()
                    .withName("POD_NAMESPACE")
                    .withNewValueFrom()
                    .withNewFieldRef()
                    .withApiVersion(
                        "v1") // the API server's default: without it, a patch each reconcile
                    .withFieldPath("metadata.namespace")
                    .endFieldRef()
                    .endValueFrom()
                    .build(),
                new EnvVarBuilder()
                    .withName("CARP_METRICS_PORT")
                    .withValue(Integer.toString(metricsPort))
                    .build(),
                // metrics and probes on the node's own address only, not on a firewall's outside
                // NIC or the VIPs
                new EnvVarBuilder()
                    .withName("CARP_METRICS_ADDRESS")
                    .withNewValueFrom()
                    .withNewFieldRef()
                    .withApiVersion(
                        "v1") // the API server's default: without it, a patch each reconcile
                    .withFieldPath("status.hostIP")
                    .endFieldRef()
                    .endValueFrom()
                    .build(),
                new EnvVarBuilder()
                    .withName("CARP_LOG_FORMAT")
                    .withValue(agent.getLogFormat() == null ? "json" : agent.getLogFormat())
                    .build(),
                new EnvVarBuilder()
                    .withName("CARP_LOG_LEVEL")
                    .withValue(agent.getLogLevel() == null ? "info" : agent.getLogLevel())
                    .build(),
                // One directory per node: lab nodes on one machine share its /run (NODE_NAME is
                // expanded by the kubelet).
                new EnvVarBuilder()
                    .withName("CARP_SECRET_NAMES")
                    .withValue(String.join(",", defaults.secretNames()))
                    .build(),
                new EnvVarBuilder()
                    .withName("CARP_RUNTIME_DIR")
                    .withValue(RUNTIME_DIR + "/$(NODE_NAME)")
                    .build())
            .addAllToEnv(
                cluster.getSpec().getSync() == null
                    ? List.of(new EnvVarBuilder().withName(JIT_ENV).withValue(C1_ONLY).build())
                    : List.of())
            // The agent's record of the addresses it added: on the host, so that it outlives a pod
            // restart (tmpfs, as
            // the addresses, cleared at reboot).
            .addNewVolumeMount()
            .withName(RUNTIME_VOLUME)
            .withMountPath(RUNTIME_DIR)
            .endVolumeMount()
            .addNewPort()
            .withName("metrics")
            .withContainerPort(metricsPort)
            .withProtocol("TCP")
            .endPort()
            .withResources(
                agent.getResources() != null ? agent.getResources() : defaults.resources())
            // The agent's metrics server answers /-/healthy (alive) and /-/ready (running, with its
            // peers' connection
            // states): a rolling update (maxUnavailable 1) waits for the restarted agent's sync
            // before the next node.
            // Liveness only once the agent answers at all: a JVM with a 20m cpu request on a busy
            // node, which then waits for its configuration from the API, took over 30 s to start
            // in the Kubernetes torture (docs/torture.md), and the liveness probe alone killed it
            // in a loop. Up to STARTUP_SECONDS to start.
            .withStartupProbe(startupProbe(metricsPort))
            .withLivenessProbe(probe("/-/healthy", metricsPort, 10))
            .withReadinessProbe(probe("/-/ready", metricsPort, 5))
            // Only what CARP needs: raw frames (NET_RAW) and address changes (NET_ADMIN), and
            // SYS_NICE for the sync's real-time priority when asked for. Nothing else.
            .withNewSecurityContext()
            .withAllowPrivilegeEscalation(false)
            .withReadOnlyRootFilesystem(true)
            .withRunAsNonRoot(false)
            .withNewCapabilities()
            .withAdd(capabilities(cluster))
            .withDrop("ALL")
            .endCapabilities()
            // The runtime's default syscall filter: raw sockets, netlink and ip(8) need nothing
            // beyond it (the
            // end-to-end tests on real nodes run the agent so).
            .withNewSeccompProfile()
            .withType("RuntimeDefault")
            .endSeccompProfile()
            .endSecurityContext()
            .build();

    return new DaemonSetBuilder()
        .withNewMetadata()
        .withName(name(cluster))
        .withNamespace(settings.agentNamespace())
        .withLabels(labels)
        .endMetadata()
        .withNewSpec()
        .withNewSelector()
        .withMatchLabels(selectorLabels(cluster))
        .endSelector()
        // One node at a time: the stopping agent bows out, so its addresses move before the next
        // node restarts.
        .withNewUpdateStrategy()
        .withType("RollingUpdate")
        .withNewRollingUpdate()
        .withMaxUnavailable(new IntOrString(1))
        .withMaxSurge(new IntOrString(0))
        .endRollingUpdate()
        .endUpdateStrategy()
        .withNewTemplate()
        .withNewMetadata()
        .withLabels(labels)
        .endMetadata()
        .withNewSpec()
        .withHostNetwork(true)
        .withDnsPolicy("ClusterFirstWithHostNet")
        .withServiceAccountName(AGENT_SERVICE_ACCOUNT)
        .withPriorityClassName(
            agent.getPriorityClassName() != null
                ? agent.getPriorityClassName()
                : defaults.priorityClassName())
        .withNodeSelector(
            cluster.getSpec().getNodeSelector().isEmpty()
                ? null
                : cluster.getSpec().getNodeSelector())
        .withTolerations(cluster.getSpec().getTolerations())
        .withTerminationGracePeriodSeconds(15L)
        .withContainers(container)
        .addNewVolume()
        .withName(RUNTIME_VOLUME)
        .withNewHostPath()
        .withPath(defaults.runtimeDirectory())
        .withType("DirectoryOrCreate")
        .endHostPath()
        .endVolume()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  /** How long the kubelet lets an agent start before liveness counts (the startup probe). */
  static final int STARTUP_SECONDS = 300;

  private static Probe startupProbe(int port) {
    Probe p = probe("/-/healthy", port, 5);
    p.setFailureThreshold(STARTUP_SECONDS / 5);
    return p;
  }

  private static Probe probe(String path, int port, int period) {
    return new ProbeBuilder()
        .withNewHttpGet()
        .withPath(path)
        .withPort(new IntOrString(port))
        .endHttpGet()
        .withPeriodSeconds(period)
        .withTimeoutSeconds(2)
        .withFailureThreshold(3)
        .build();
  }
}
