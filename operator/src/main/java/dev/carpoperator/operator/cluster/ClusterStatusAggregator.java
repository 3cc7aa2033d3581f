package dev.carpoperator.operator.cluster;

import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.ClusterNodeStatus;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterStatus;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.status.AgentHeartbeats;
import dev.carpoperator.operator.status.AgentReports;
import dev.carpoperator.operator.status.Conditions;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A FirewallCluster's status from what the operator knows: the nodes its selector picks, its agent
 * DaemonSet's counts, and what each node's agent reports in the {@code status.nodes} of the
 * cluster's VirtualAddresses. Pure: the reconciler feeds it the inputs and the time.
 */
public final class ClusterStatusAggregator {
  /** Ready reasons. */
  public static final String AGENTS_READY = "AgentsReady";

  public static final String AGENTS_NOT_READY = "AgentsNotReady";
  public static final String NO_NODES_SELECTED = "NoNodesSelected";

  /** Degraded reasons (AgentsNotReady and NoNodesSelected too). */
  public static final String AS_EXPECTED = "AsExpected";

  /**
   * spec.sync is set, but a node's agent runs without it (its key Secret is missing, the interface
   * is wrong, or the agent started before spec.sync was set).
   */
  public static final String SYNC_NOT_RUNNING = "SyncNotRunning";

  /** {@code nodes[].sync} values (ClusterNodeStatus). */
  public static final String SYNC_DISABLED = "disabled";

  public static final String SYNC_BULK_UPDATE = "bulk-update";
  public static final String SYNC_IN_SYNC = "in-sync";
  public static final String SYNC_BEHIND = "behind";

  private ClusterStatusAggregator() {}

  /**
   * {@code selectedNodes}: the names of the Nodes the selector picks; {@code addresses}: the
   * VirtualAddresses of this cluster; {@code desiredAgents}/{@code readyAgents}: the DaemonSet's
   * counts.
   */
  public static FirewallClusterStatus aggregate(
      FirewallCluster cluster,
      List<String> selectedNodes,
      List<VirtualAddress> addresses,
      int desiredAgents,
      int readyAgents,
      Instant now) {
    return aggregate(
        cluster, selectedNodes, addresses, desiredAgents, readyAgents, AgentHeartbeats.NONE, now);
  }

  /** {@code heartbeats}: when each node's agent last renewed its heartbeat Lease. */
  public static FirewallClusterStatus aggregate(
      FirewallCluster cluster,
      List<String> selectedNodes,
      List<VirtualAddress> addresses,
      int desiredAgents,
      int readyAgents,
      AgentHeartbeats heartbeats,
      Instant now) {
    FirewallClusterStatus old =
        cluster.getStatus() == null ? new FirewallClusterStatus() : cluster.getStatus();
    Long generation = cluster.getMetadata().getGeneration();
    boolean syncConfigured = cluster.getSpec().getSync() != null;
    List<NodeVhidStatus> reports = new ArrayList<>();
    for (VirtualAddress va : addresses)
      if (va.getStatus() != null && va.getStatus().getNodes() != null)
        reports.addAll(va.getStatus().getNodes());

    List<ClusterNodeStatus> nodes = new ArrayList<>();
    List<String> notReady = new ArrayList<>();
    List<String> syncNotRunning = new ArrayList<>();
    for (String name : selectedNodes.stream().sorted().distinct().toList()) {
      List<NodeVhidStatus> own = reports.stream().filter(r -> name.equals(r.getName())).toList();
      // The entry written last carries the node's latest sync state.
      NodeVhidStatus lastWritten =
          own.stream()
              .filter(r -> AgentHeartbeats.NONE.lastHeard(r) != null)
              .max(Comparator.comparing(AgentHeartbeats.NONE::lastHeard))
              .orElse(null);
      Instant lastHeard = heartbeats.agentLastHeard(name, own);
      boolean reporting = lastHeard != null && !lastHeard.isBefore(now.minus(AgentReports.SILENCE));
      ClusterNodeStatus s = new ClusterNodeStatus();
      s.setName(name);
      // Without an address there is nothing for an agent to report: readiness is unknown per node
      // (the DaemonSet's counts still say it).
      s.setAgentReady(addresses.isEmpty() ? null : reporting);
      if (!addresses.isEmpty() && !reporting) notReady.add(name);
      // The demotion the node advertises (agents update it in every entry when it changes). An
      // entry with failing health checks adds their weight for its address only: node-wide is what
      // the other entries say, or the least of them all.
      own.stream()
          .filter(r -> r.getDemotion() != null && parse(r.getSince()) != null)
          .filter(r -> r.getFailingChecks() == null || r.getFailingChecks().isEmpty())
          .max(Comparator.comparing(r -> parse(r.getSince())))
          .or(
              () ->
                  own.stream()
                      .filter(r -> r.getDemotion() != null)
                      .min(Comparator.comparing(NodeVhidStatus::getDemotion)))
          .ifPresent(r -> s.setDemotion(r.getDemotion()));
      if (!syncConfigured) s.setSync(SYNC_DISABLED);
      else if (reporting) {
        s.setSync(syncOf(lastWritten));
        if (SYNC_DISABLED.equals(s.getSync())) syncNotRunning.add(name);
      }
      nodes.add(s);
    }

    FirewallClusterStatus next = new FirewallClusterStatus();
    next.setNodes(nodes);
    next.setObservedGeneration(generation);
    next.setDesiredAgents(desiredAgents);
    next.setReadyAgents(readyAgents);

    boolean allReady = desiredAgents > 0 && readyAgents == desiredAgents;
    String reason =
        allReady ? AGENTS_READY : desiredAgents == 0 ? NO_NODES_SELECTED : AGENTS_NOT_READY;
    String message =
        allReady
            ? readyAgents + " agents ready"
            : desiredAgents == 0
                ? "no node matches spec.nodeSelector (or the DaemonSet has not been scheduled yet)"
                : readyAgents + " of " + desiredAgents + " agents ready";
    List<io.fabric8.kubernetes.api.model.Condition> conditions =
        Conditions.set(
            old.getConditions(),
            CarpApi.CONDITION_READY,
            allReady,
            reason,
            message,
            generation,
            now);

    List<Problem> problems = new ArrayList<>(); // the first one names the reason
    if (selectedNodes.isEmpty())
      problems.add(
          new Problem(
              NO_NODES_SELECTED,
              "no Node matches spec.nodeSelector; label the firewall nodes (e.g. "
                  + AgentDaemonSets.RECOMMENDED_NODE_LABEL
                  + "="
                  + cluster.getMetadata().getName()
                  + ")"));
    if (!notReady.isEmpty())
      problems.add(
          new Problem(
              AGENTS_NOT_READY,
              String.join(", ", notReady)
                  + (notReady.size() == 1 ? " is" : " are")
                  + " selected but "
                  + (notReady.size() == 1 ? "its agent has" : "their agents have")
                  + " not reported for "
                  + AgentReports.SILENCE.toMinutes()
                  + " minutes (is the agent pod running and ready on the node?)"));
    else if (addresses.isEmpty() && desiredAgents > 0 && readyAgents < desiredAgents)
      problems.add(
          new Problem(AGENTS_NOT_READY, readyAgents + " of " + desiredAgents + " agents ready"));
    if (!syncNotRunning.isEmpty())
      problems.add(
          new Problem(
              SYNC_NOT_RUNNING,
              "spec.sync is set but "
                  + String.join(", ", syncNotRunning)
                  + (syncNotRunning.size() == 1 ? " runs" : " run")
                  + " without state sync (the agent log's sync-not-started says why: e.g. a missing"
                  + " key Secret; agents read spec.sync when they start, so restart them after a change)"));
    boolean degraded = !problems.isEmpty();

    conditions =
        Conditions.set(
            conditions,
            CarpApi.CONDITION_DEGRADED,
            degraded,
            degraded ? problems.getFirst().reason() : AS_EXPECTED,
            degraded
                ? String.join("; ", problems.stream().map(Problem::message).toList())
                : "every selected node runs an agent that reports",
            generation,
            now);
    next.setConditions(conditions);
    return next;
  }

  /**
   * The cluster's word for a node's reported state-sync bulk state (absent: not running; a value
   * this operator does not know, e.g. from a newer agent, is passed on as it is).
   */
  static String syncOf(NodeVhidStatus reported) {
    if (reported.getSync() == null) return SYNC_DISABLED;
    return reported
        .syncState()
        .map(
            state ->
                switch (state) {
                  case REQUESTING, RECEIVING -> SYNC_BULK_UPDATE;
                  case DONE, IDLE -> SYNC_IN_SYNC;
                  case TIMED_OUT -> SYNC_BEHIND;
                })
        .orElse(reported.getSync());
  }

  private static Instant parse(String t) {
    try {
      return t == null ? null : Instant.parse(t);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** Something users must fix: the condition's reason and what to do. */
  private record Problem(String reason, String message) {}
}
