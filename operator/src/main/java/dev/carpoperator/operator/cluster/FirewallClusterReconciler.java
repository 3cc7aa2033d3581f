package dev.carpoperator.operator.cluster;

import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterStatus;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.operator.status.AgentHeartbeats;
import dev.carpoperator.operator.status.EventRecorder;
import dev.carpoperator.operator.status.OncePerGeneration;
import dev.carpoperator.operator.status.StatusPatches;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Owns each FirewallCluster's agent DaemonSet and reports the selected nodes, their agents'
 * readiness, demotion and state sync, and Ready / Degraded in the cluster's status ({@link
 * ClusterStatusAggregator}).
 */
@ControllerConfiguration(name = "firewallcluster")
public class FirewallClusterReconciler implements Reconciler<FirewallCluster> {
  private final AgentDaemonSetDependent daemonSet;
  private final OperatorSettings settings;

  /**
   * The generation whose ignored spec.agent.image was last reported, per cluster (one entry per
   * such cluster).
   */
  private final OncePerGeneration imageWarning = new OncePerGeneration();

  private final OncePerGeneration selectorWarning = new OncePerGeneration();

  private static final String NODES = "nodes";
  private static final String ADDRESSES = "virtualaddresses";
  private InformerEventSource<Node, FirewallCluster> nodes;
  private InformerEventSource<VirtualAddress, FirewallCluster> addresses;
  private static final String LEASES = "heartbeat-leases";
  private InformerEventSource<Lease, FirewallCluster> leases;

  private volatile long lastSweep = System.nanoTime();

  public FirewallClusterReconciler(OperatorSettings settings) {
    this.settings = settings;
    this.daemonSet = new AgentDaemonSetDependent(settings);
  }

  /**
   * Nodes and VirtualAddresses from informers, not a LIST per reconcile (as the address reconciler
   * reads its FirewallClusters): a Node that appears or changes its labels, and an agent's report
   * that changes what the cluster status says, reconcile the clusters at once.
   */
  @Override
  public List<EventSource<?, FirewallCluster>> prepareEventSources(
      EventSourceContext<FirewallCluster> context) {
    // Every cluster: a Node whose labels change may leave a selector as well as enter one (few
    // clusters).
    nodes =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Node.class, FirewallCluster.class)
                .withName(NODES)
                .withSecondaryToPrimaryMapper(
                    node ->
                        context
                            .getPrimaryCache()
                            .list()
                            .map(ResourceID::fromResource)
                            .collect(Collectors.toSet()))
                // Status heartbeats are not the cluster's business; labels are.
                .withOnUpdateFilter(
                    (now, before) ->
                        !Objects.equals(
                            now.getMetadata().getLabels(), before.getMetadata().getLabels()))
                .build(),
            context);
    addresses =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(VirtualAddress.class, FirewallCluster.class)
                .withName(ADDRESSES)
                .withSecondaryToPrimaryMapper(
                    va ->
                        va.getSpec() == null || va.getSpec().getCluster() == null
                            ? Set.<ResourceID>of()
                            : Set.of(new ResourceID(va.getSpec().getCluster())))
                // Agents refresh their entries every few seconds: only what the cluster status
                // shows reconciles (lastReport's age is looked at on the periodic reconcile).
                .withOnUpdateFilter((now, before) -> !summary(now).equals(summary(before)))
                .build(),
            context);
    // The agents' heartbeats: a Lease that appears or goes reconciles every cluster (few); its
    // renewals do not, the periodic reconcile looks at their age.
    leases =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Lease.class, FirewallCluster.class)
                .withName(LEASES)
                .withNamespaces(Set.of(settings.agentNamespace()))
                .withLabelSelector(AgentHeartbeats.LABEL_SELECTOR)
                .withSecondaryToPrimaryMapper(
                    lease ->
                        context
                            .getPrimaryCache()
                            .list()
                            .map(ResourceID::fromResource)
                            .collect(Collectors.toSet()))
                .withOnUpdateFilter((now, before) -> false)
                .build(),
            context);
    return List.of(daemonSet.eventSource(context).orElseThrow(), nodes, addresses, leases);
  }

  /** What of an address the cluster status depends on, besides the age of the reports. */
  static List<Object> summary(VirtualAddress va) {
    List<Object> out = new ArrayList<>();
    out.add(va.getSpec() == null ? null : va.getSpec().getCluster());
    if (va.getStatus() != null && va.getStatus().getNodes() != null)
      for (NodeVhidStatus n : va.getStatus().getNodes())
        out.add(
            Arrays.asList(
                n.getName(),
                n.getVhid(),
                n.getState(),
                n.getDemotion(),
                n.getSince(),
                n.getSync()));
    return out;
  }

  @Override
  public UpdateControl<FirewallCluster> reconcile(
      FirewallCluster cluster, Context<FirewallCluster> context) {
    warnAboutIgnoredImage(cluster, context);
    warnAboutSelfAssignableSelector(cluster, context);
    forgetDeletedClusters(context);
    daemonSet.reconcile(cluster, context);
    DaemonSet ds = daemonSet.getSecondaryResource(cluster, context).orElse(null);
    int desired =
        ds == null || ds.getStatus() == null || ds.getStatus().getDesiredNumberScheduled() == null
            ? 0
            : ds.getStatus().getDesiredNumberScheduled();
    int ready =
        ds == null || ds.getStatus() == null || ds.getStatus().getNumberReady() == null
            ? 0
            : ds.getStatus().getNumberReady();
    String name = cluster.getMetadata().getName();
    List<VirtualAddress> own =
        addresses
            .list(va -> va.getSpec() != null && name.equals(va.getSpec().getCluster()))
            .toList();
    FirewallClusterStatus next =
        ClusterStatusAggregator.aggregate(
            cluster,
            selectedNodes(cluster),
            own,
            desired,
            ready,
            AgentHeartbeats.of(leases.list(settings.agentNamespace())),
            Instant.now());
    FirewallClusterStatus old =
        cluster.getStatus() == null ? new FirewallClusterStatus() : cluster.getStatus();
    UpdateControl<FirewallCluster> control =
        StatusPatches.sameStatus(old, next)
            ? UpdateControl.noUpdate()
            : UpdateControl.patchStatus(StatusPatches.fresh(cluster, new FirewallCluster(), next));
    // An agent that goes silent changes nothing the informers see: look again.
    return control.rescheduleAfter(Duration.ofSeconds(30));
  }

  /** The warn-once entries of clusters that are gone (checked at most once a minute). */
  private void forgetDeletedClusters(Context<FirewallCluster> context) {
    long now = System.nanoTime();
    if (now - lastSweep < Duration.ofMinutes(1).toNanos()) return;
    lastSweep = now;
    Set<String> live =
        context
            .getPrimaryCache()
            .list()
            .map(c -> c.getMetadata().getName())
            .collect(Collectors.toSet());
    imageWarning.retainOnly(live);
    selectorWarning.retainOnly(live);
  }

  /**
   * spec.agent.image is ignored (the operator's setting decides what runs privileged): say so once
   * per generation.
   */
  private void warnAboutIgnoredImage(FirewallCluster cluster, Context<FirewallCluster> context) {
    var agent = cluster.getSpec().getAgent();
    if (!imageWarning.due(
        cluster, agent != null && agent.getImage() != null && !agent.getImage().isBlank())) return;
    EventRecorder.record(
        context.getClient(),
        cluster,
        true,
        "AgentImageIgnored",
        "spec.agent.image ("
            + agent.getImage()
            + ") is ignored: the agents run the operator's agent image "
            + settings.agentImage()
            + " (set it with the Helm chart's agent.image); remove the field");
  }

  /**
   * A nodeSelector key that a kubelet may set on its own Node lets a compromised node attract an
   * agent, and with it the cluster's keys: say so once per generation (a warning, not a refusal:
   * single-node labs and existing installations use such labels).
   */
  private void warnAboutSelfAssignableSelector(
      FirewallCluster cluster, Context<FirewallCluster> context) {
    List<String> open = selfAssignableKeys(cluster.getSpec().getNodeSelector());
    if (!selectorWarning.due(cluster, !open.isEmpty())) return;
    EventRecorder.record(
        context.getClient(),
        cluster,
        true,
        "NodeSelectorSelfAssignable",
        "spec.nodeSelector "
            + String.join(", ", open)
            + ": a node's kubelet may set such a label on its own Node and so receive an agent and the"
            + " cluster's keys; prefer a label under "
            + AgentDaemonSets.RESTRICTED_LABEL_PREFIX
            + " (e.g. "
            + AgentDaemonSets.RECOMMENDED_NODE_LABEL
            + "), which only administrators can set");
  }

  /**
   * The selector keys a kubelet may set on its own Node (empty selects every node: nothing to
   * attract).
   */
  static List<String> selfAssignableKeys(Map<String, String> selector) {
    if (selector == null) return List.of();
    return selector.keySet().stream()
        .filter(
            k ->
                !k.startsWith(AgentDaemonSets.RESTRICTED_LABEL_PREFIX)
                    && !k.contains("." + AgentDaemonSets.RESTRICTED_LABEL_PREFIX))
        .sorted()
        .toList();
  }

  /** The Nodes the selector picks (an empty selector picks every node), from the informer. */
  List<String> selectedNodes(FirewallCluster cluster) {
    Map<String, String> selector = cluster.getSpec().getNodeSelector();
    return nodes
        .list(n -> matches(selector, n.getMetadata().getLabels()))
        .map(n -> n.getMetadata().getName())
        .sorted()
        .toList();
  }

  static boolean matches(Map<String, String> selector, Map<String, String> labels) {
    if (selector == null || selector.isEmpty()) return true;
    Map<String, String> have = labels == null ? Map.of() : labels;
    return selector.entrySet().stream()
        .allMatch(e -> Objects.equals(e.getValue(), have.get(e.getKey())));
  }
}
