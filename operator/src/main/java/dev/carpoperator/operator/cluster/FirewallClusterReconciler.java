package dev.carpoperator.operator.cluster;

import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.ClusterNodeStatus;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterStatus;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.operator.status.Conditions;
import dev.carpoperator.operator.status.EventRecorder;
import dev.carpoperator.operator.status.OncePerGeneration;
import dev.carpoperator.operator.status.StatusPatches;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Owns each FirewallCluster's agent DaemonSet and reports the agents' readiness in the cluster's
 * status.
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

  public FirewallClusterReconciler(OperatorSettings settings) {
    this.settings = settings;
    this.daemonSet = new AgentDaemonSetDependent(settings);
  }

  @Override
  public List<EventSource<?, FirewallCluster>> prepareEventSources(
      EventSourceContext<FirewallCluster> context) {
    return List.of(daemonSet.eventSource(context).orElseThrow());
  }

  @Override
  public UpdateControl<FirewallCluster> reconcile(
      FirewallCluster cluster, Context<FirewallCluster> context) {
    warnAboutIgnoredImage(cluster, context);
    warnAboutSelfAssignableSelector(cluster, context);
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

    FirewallClusterStatus old =
        cluster.getStatus() == null ? new FirewallClusterStatus() : cluster.getStatus();
    FirewallClusterStatus next = new FirewallClusterStatus();
    // The nodes the selector picks: each should run an agent (VirtualAddress status says when one
    // is silent).
    next.setNodes(
        selectedNodes(cluster, context).stream()
            .map(
                n -> {
                  ClusterNodeStatus s = new ClusterNodeStatus();
                  s.setName(n);
                  return s;
                })
            .toList());
    next.setObservedGeneration(cluster.getMetadata().getGeneration());
    next.setDesiredAgents(desired);
    next.setReadyAgents(ready);
    boolean allReady = desired > 0 && ready == desired;
    String reason = allReady ? "AgentsReady" : desired == 0 ? "NoNodesSelected" : "AgentsNotReady";
    String message =
        allReady
            ? ready + " agents ready"
            : desired == 0
                ? "no node matches spec.nodeSelector (or the DaemonSet has not been scheduled yet)"
                : ready + " of " + desired + " agents ready";
    next.setConditions(
        Conditions.set(
            old.getConditions(),
            CarpApi.CONDITION_READY,
            allReady,
            reason,
            message,
            cluster.getMetadata().getGeneration(),
            Instant.now()));
    UpdateControl<FirewallCluster> control =
        StatusPatches.sameStatus(old, next)
            ? UpdateControl.noUpdate()
            : UpdateControl.patchStatus(StatusPatches.fresh(cluster, new FirewallCluster(), next));
    return control.rescheduleAfter(
        java.time.Duration.ofSeconds(30)); // nodes come and go without touching the cluster
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

  static List<String> selectedNodes(FirewallCluster cluster, Context<FirewallCluster> context) {
    var selector = cluster.getSpec().getNodeSelector();
    var nodes =
        selector == null || selector.isEmpty()
            ? context.getClient().nodes().list()
            : context.getClient().nodes().withLabels(selector).list();
    return nodes.getItems().stream().map(n -> n.getMetadata().getName()).sorted().toList();
  }
}
