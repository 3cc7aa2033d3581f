package dev.carpoperator.operator.cluster;

import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.ClusterNodeStatus;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterStatus;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.operator.status.Conditions;
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

/** Owns each FirewallCluster's agent DaemonSet and reports the agents' readiness in the cluster's status. */
@ControllerConfiguration(name = "firewallcluster")
public class FirewallClusterReconciler implements Reconciler<FirewallCluster> {
  private final AgentDaemonSetDependent daemonSet;

  public FirewallClusterReconciler(OperatorSettings settings) {
    this.daemonSet = new AgentDaemonSetDependent(settings);
  }

  @Override
  public List<EventSource<?, FirewallCluster>> prepareEventSources(EventSourceContext<FirewallCluster> context) {
    return List.of(daemonSet.eventSource(context).orElseThrow());
  }

  @Override
  public UpdateControl<FirewallCluster> reconcile(FirewallCluster cluster, Context<FirewallCluster> context) {
    daemonSet.reconcile(cluster, context);
    DaemonSet ds = daemonSet.getSecondaryResource(cluster, context).orElse(null);
    int desired = ds == null || ds.getStatus() == null || ds.getStatus().getDesiredNumberScheduled() == null ? 0 : ds.getStatus().getDesiredNumberScheduled();
    int ready = ds == null || ds.getStatus() == null || ds.getStatus().getNumberReady() == null ? 0 : ds.getStatus().getNumberReady();

    FirewallClusterStatus old = cluster.getStatus() == null ? new FirewallClusterStatus() : cluster.getStatus();
    FirewallClusterStatus next = new FirewallClusterStatus();
    // The nodes the selector picks: each should run an agent (VirtualAddress status says when one is silent).
    next.setNodes(selectedNodes(cluster, context).stream().map(n -> {
      ClusterNodeStatus s = new ClusterNodeStatus();
      s.setName(n);
      return s;
    }).toList());
    next.setObservedGeneration(cluster.getMetadata().getGeneration());
    next.setDesiredAgents(desired);
    next.setReadyAgents(ready);
    boolean allReady = desired > 0 && ready == desired;
    String reason = allReady ? "AgentsReady" : desired == 0 ? "NoNodesSelected" : "AgentsNotReady";
    String message = allReady ? ready + " agents ready"
        : desired == 0 ? "no node matches spec.nodeSelector (or the DaemonSet has not been scheduled yet)"
        : ready + " of " + desired + " agents ready";
    next.setConditions(Conditions.set(old.getConditions(), CarpApi.CONDITION_READY, allReady, reason, message,
        cluster.getMetadata().getGeneration(), Instant.now()));
    UpdateControl<FirewallCluster> control = StatusPatches.sameStatus(old, next)
        ? UpdateControl.noUpdate() : UpdateControl.patchStatus(StatusPatches.fresh(cluster, new FirewallCluster(), next));
    return control.rescheduleAfter(java.time.Duration.ofSeconds(30)); // nodes come and go without touching the cluster
  }

  static List<String> selectedNodes(FirewallCluster cluster, Context<FirewallCluster> context) {
    var selector = cluster.getSpec().getNodeSelector();
    var nodes = selector == null || selector.isEmpty() ? context.getClient().nodes().list()
        : context.getClient().nodes().withLabels(selector).list();
    return nodes.getItems().stream().map(n -> n.getMetadata().getName()).sorted().toList();
  }
}
