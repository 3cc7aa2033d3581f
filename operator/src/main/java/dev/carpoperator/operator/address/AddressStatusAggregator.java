package dev.carpoperator.operator.address;

import dev.carpoperator.api.v1alpha1.BulkSyncState;
import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.CarpNode;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.operator.status.AgentHeartbeats;
import dev.carpoperator.operator.status.AgentReports;
import dev.carpoperator.operator.status.Conditions;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Turns what the agents wrote into {@code status.nodes} into the operator's part of the status: the
 * vhid in use, the master, Ready/Degraded with a reason, the failover count, and the Events to
 * emit. Pure: the reconciler feeds it the resource, whether the cluster exists, the vhids other
 * addresses hold, and the time.
 */
public final class AddressStatusAggregator {
  /** Degraded reasons a user can filter Events and alerts on. */
  public static final String CLUSTER_NOT_FOUND = "ClusterNotFound";

  public static final String VHID_COLLISION = "VhidCollision";
  public static final String NO_VHID_LEFT = "NoVhidLeft";
  public static final String NO_MASTER = "NoMaster";
  public static final String MULTIPLE_MASTERS = "MultipleMasters";
  public static final String AUTHENTICATION_FAILURES = "AuthenticationFailures";
  public static final String AGENT_MISSING = "AgentMissing";
  public static final String ACTIONS_FAILING = "ActionsFailing";

  /** A node's health checks (spec.healthChecks) fail: it is demoted for this address. */
  public static final String HEALTH_CHECKS_FAILING = "HealthChecksFailing";

  /**
   * A node is still receiving its peers' connection states (its start-up bulk update); CARP holds
   * it demoted.
   */
  public static final String SYNC_BEHIND = "SyncBehind";

  /**
   * An agent refuses a vhid because one of its addresses is the node's own address (the agent's
   * reason code).
   */
  public static final String ADDRESS_IS_NODE_ADDRESS = CarpApi.REASON_ADDRESS_IS_NODE_ADDRESS;

  public static final String MASTER_ELECTED = "MasterElected";
  public static final String MASTER_CHANGED = "MasterChanged";

  /**
   * Reasons that degrade an address but leave it Ready: it works while one master holds it
   * (authentication failures, a missing agent, failing actions, a pending sync, a node refusing).
   */
  static final Set<String> DEGRADING_ONLY =
      Set.of(
          AUTHENTICATION_FAILURES,
          AGENT_MISSING,
          ACTIONS_FAILING,
          HEALTH_CHECKS_FAILING,
          SYNC_BEHIND,
          ADDRESS_IS_NODE_ADDRESS);

  /** A problem of the address: the condition's reason and message. */
  record Problem(String reason, String message) {
    boolean keepsReady() {
      return DEGRADING_ONLY.contains(reason);
    }
  }

  /** An Event to record on the VirtualAddress. */
  public record Event(boolean warning, String reason, String message) {}

  /** The new operator-owned status (nodes left out: the agents own them) and the Events. */
  public record Result(VirtualAddressStatus status, List<Event> events) {}

  private AddressStatusAggregator() {}

  /**
   * The nodes that are MASTER of a vhid now. A MASTER entry is superseded when another node became
   * MASTER after the entry's last report: that node took over because this one went silent
   * (crashed, or its node is gone) and this one has said nothing since. A master that is alive
   * keeps reporting (agents refresh MASTER entries every few seconds), so a real split brain still
   * shows as two masters.
   */
  static List<String> currentMasters(List<NodeVhidStatus> reports, int vhid) {
    return currentMasters(reports, vhid, AgentHeartbeats.NONE);
  }

  /**
   * The same, with the agents' heartbeat Leases: an entry's master is heard from at the later of
   * its {@code lastReport} and its node's last Lease renewal (agents that renew a Lease do not
   * refresh their entries).
   */
  static List<String> currentMasters(
      List<NodeVhidStatus> reports, int vhid, AgentHeartbeats heartbeats) {
    List<NodeVhidStatus> masters =
        reports.stream()
            .filter(n -> Objects.equals(n.getVhid(), vhid) && n.getState() == CarpState.MASTER)
            .toList();
    return masters.stream()
        .filter(
            a ->
                masters.stream()
                    .noneMatch(
                        b -> {
                          Instant bSince = parse(b.getSince());
                          Instant aHeard = heartbeats.lastHeard(a);
                          return b != a
                              && bSince != null
                              && aHeard != null
                              && bSince.isAfter(aHeard);
                        }))
        .map(NodeVhidStatus::getName)
        .sorted()
        .toList();
  }

  private static Instant parse(String t) {
    try {
      return t == null ? null : Instant.parse(t);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  public static Result aggregate(
      VirtualAddress va, boolean clusterExists, Set<Integer> vhidsOfOthers, Instant now) {
    return aggregate(va, clusterExists, List.of(), vhidsOfOthers, now);
  }

  /**
   * {@code selectedNodes}: the nodes the cluster's selector picks, each of which should run an
   * agent.
   */
  public static Result aggregate(
      VirtualAddress va,
      boolean clusterExists,
      List<String> selectedNodes,
      Set<Integer> vhidsOfOthers,
      Instant now) {
    return aggregate(va, clusterExists, selectedNodes, vhidsOfOthers, AgentHeartbeats.NONE, now);
  }

  /** {@code heartbeats}: when each node's agent last renewed its heartbeat Lease. */
  public static Result aggregate(
      VirtualAddress va,
      boolean clusterExists,
      List<String> selectedNodes,
      Set<Integer> vhidsOfOthers,
      AgentHeartbeats heartbeats,
      Instant now) {
    VirtualAddressStatus old = va.getStatus() == null ? new VirtualAddressStatus() : va.getStatus();
    Long generation = va.getMetadata().getGeneration();
    List<Event> events = new ArrayList<>();
    List<Problem> problems = new ArrayList<>(); // first one wins
    List<Integer> vhids = new ArrayList<>();
    Integer primaryVhid = null;

    if (!va.getSpec().getCarpNodes().isEmpty()) {
      for (CarpNode c : va.getSpec().getCarpNodes()) vhids.add(c.getVhid());
      vhids.sort(null);
      primaryVhid = vhids.getFirst(); // OpenBSD's leader: the lowest vhid
    } else if (va.getSpec().getVhid() != null) {
      primaryVhid = va.getSpec().getVhid();
      vhids.add(primaryVhid);
    } else {
      primaryVhid = VhidAllocator.allocate(old.getVhid(), vhidsOfOthers);
      if (primaryVhid == null)
        problems.add(
            new Problem(
                NO_VHID_LEFT,
                "all 255 vhids are in use on this cluster; set spec.vhid or remove an address"));
      else vhids.add(primaryVhid);
    }
    List<Integer> colliding = vhids.stream().filter(vhidsOfOthers::contains).toList();
    if (!colliding.isEmpty()) {
      problems.add(
          new Problem(
              VHID_COLLISION,
              "vhid "
                  + colliding.stream().map(String::valueOf).collect(Collectors.joining(", "))
                  + " is also claimed by another VirtualAddress of cluster "
                  + va.getSpec().getCluster()
                  + "; give each address its own vhid"));
    }
    if (!clusterExists) {
      problems.addFirst(
          new Problem(
              CLUSTER_NOT_FOUND,
              "FirewallCluster " + va.getSpec().getCluster() + " does not exist"));
    }

    List<NodeVhidStatus> reports = old.getNodes() == null ? List.of() : old.getNodes();
    Set<String> refusing = new TreeSet<>();
    for (NodeVhidStatus n : reports)
      if (ADDRESS_IS_NODE_ADDRESS.equals(n.getReason()) && vhids.contains(n.getVhid()))
        refusing.add(n.getName());
    if (!refusing.isEmpty())
      problems.add(
          new Problem(
              ADDRESS_IS_NODE_ADDRESS,
              String.join(", ", refusing)
                  + (refusing.size() == 1 ? " refuses" : " refuse")
                  + " to run vhid "
                  + vhids.stream().map(String::valueOf).collect(Collectors.joining(", "))
                  + ": an address in spec.addresses is "
                  + (refusing.size() == 1 ? "that node's" : "those nodes'")
                  + " own address (a typo?); fix spec.addresses (the agent log says which)"));

    List<String> masters = new ArrayList<>();
    boolean splitBrain = false; // a vhid with more than one master
    for (int vhid : vhids) {
      List<String> m = currentMasters(reports, vhid, heartbeats);
      if (m.isEmpty())
        problems.add(
            new Problem(
                NO_MASTER,
                "no node is MASTER of vhid "
                    + vhid
                    + (reports.isEmpty() ? " (no agent has reported yet)" : "")));
      else if (m.size() > 1)
        problems.add(
            new Problem(
                MULTIPLE_MASTERS,
                String.join(" and ", m)
                    + " are all MASTER of vhid "
                    + vhid
                    + " (split brain: check the link between them, passwords and vhids)"));
      if (!m.isEmpty()) masters.add(m.size() == 1 ? m.getFirst() : String.join("+", m));
      splitBrain |= m.size() > 1;
    }
    Set<String> authFailing = new TreeSet<>();
    for (NodeVhidStatus n : reports)
      if (n.getAuthFailures() != null && n.getAuthFailures() > 0 && vhids.contains(n.getVhid()))
        authFailing.add(n.getName());
    if (!authFailing.isEmpty())
      problems.add(
          new Problem(
              AUTHENTICATION_FAILURES,
              String.join(", ", authFailing)
                  + (authFailing.size() == 1 ? " rejects" : " reject")
                  + " adverts with a wrong password or address set (in the last 5 minutes)"));

    List<String> silent = new ArrayList<>();
    for (String n : selectedNodes) {
      Instant last =
          heartbeats.agentLastHeard(
              n, reports.stream().filter(r -> n.equals(r.getName())).toList());
      if (last == null || last.isBefore(now.minus(AgentReports.SILENCE))) silent.add(n);
    }
    if (!silent.isEmpty())
      problems.add(
          new Problem(
              AGENT_MISSING,
              String.join(", ", silent)
                  + (silent.size() == 1 ? " is" : " are")
                  + " selected by FirewallCluster "
                  + va.getSpec().getCluster()
                  + " but "
                  + (silent.size() == 1 ? "its agent has" : "their agents have")
                  + " not reported for "
                  + AgentReports.SILENCE.toMinutes()
                  + " minutes (is the agent pod running on the node?)"));

    List<String> failing = new ArrayList<>();
    for (NodeVhidStatus n : reports) {
      if (n.getFailedActions() != null
          && n.getFailedActions() > 0
          && vhids.contains(n.getVhid())
          && !failing.contains(n.getName())) {
        failing.add(
            n.getName()
                + " ("
                + n.getFailedActions()
                + " failed"
                + (n.getActionError() == null ? "" : ": " + n.getActionError())
                + ")");
      }
    }
    if (!failing.isEmpty())
      problems.add(
          new Problem(
              ACTIONS_FAILING, "state-change actions failed on " + String.join(", ", failing)));

    Set<String> unhealthy = new TreeSet<>();
    for (NodeVhidStatus n : reports) {
      if (vhids.contains(n.getVhid())
          && n.getFailingChecks() != null
          && !n.getFailingChecks().isEmpty())
        unhealthy.add(n.getName() + " (" + String.join(", ", n.getFailingChecks()) + ")");
    }
    if (!unhealthy.isEmpty())
      problems.add(
          new Problem(
              HEALTH_CHECKS_FAILING,
              "health checks fail on "
                  + String.join(", ", unhealthy)
                  + "; "
                  + (unhealthy.size() == 1 ? "it is" : "they are")
                  + " demoted for this address"));

    Set<String> syncing = new TreeSet<>();
    for (NodeVhidStatus n : reports) {
      if (vhids.contains(n.getVhid()) && n.syncState().filter(BulkSyncState::pending).isPresent())
        syncing.add(n.getName() + " (" + n.getSync() + ")");
    }
    if (!syncing.isEmpty())
      problems.add(
          new Problem(
              SYNC_BEHIND,
              String.join(", ", syncing)
                  + (syncing.size() == 1 ? " has" : " have")
                  + " not received the peers' connection states yet (start-up bulk update); a failover to "
                  + (syncing.size() == 1 ? "it" : "them")
                  + " now would break connections, so CARP keeps "
                  + (syncing.size() == 1 ? "it" : "them")
                  + " demoted"));

    String master = masters.isEmpty() ? null : String.join(",", masters);
    VirtualAddressStatus next = new VirtualAddressStatus();
    next.setNodes(null); // owned by the agents
    next.setObservedGeneration(generation);
    next.setVhid(primaryVhid);
    next.setMaster(master);
    next.setFailoverCount(old.getFailoverCount() == null ? 0L : old.getFailoverCount());
    next.setLastTransitionTime(old.getLastTransitionTime());
    // A failover usually passes through "no master" (the backup waits out master-down), so compare
    // with the last
    // master seen rather than with the previous status.
    // A split brain ("a+b") is reported by the Degraded condition; it is not a new master. Nodes
    // that start together are all MASTER for a moment: counting that as two failovers with Events
    // "master moved from a to a+b" and "from a+b to b" only made noise. The last single master is
    // what the next Event compares with.
    String previous = old.getLastMaster() != null ? old.getLastMaster() : old.getMaster();
    if (previous != null && previous.contains("+")) previous = null; // written by an older operator
    next.setLastMaster(master != null && !splitBrain ? master : previous);
    if (master != null && !splitBrain && !master.equals(previous)) {
      next.setLastTransitionTime(now.toString());
      if (previous != null) {
        next.setFailoverCount(next.getFailoverCount() + 1);
        events.add(
            new Event(false, MASTER_CHANGED, "master moved from " + previous + " to " + master));
      } else {
        events.add(new Event(false, MASTER_ELECTED, master + " is master"));
      }
    }

    boolean ready = problems.stream().allMatch(Problem::keepsReady);
    Problem firstProblem = problems.isEmpty() ? null : problems.getFirst();
    String problemReason = firstProblem == null ? null : firstProblem.reason();
    String problemMessage = firstProblem == null ? null : firstProblem.message();
    List<io.fabric8.kubernetes.api.model.Condition> conditions =
        Conditions.set(
            old.getConditions(),
            CarpApi.CONDITION_READY,
            ready,
            ready ? MASTER_ELECTED : problemReason,
            ready ? master + " is master" : problemMessage,
            generation,
            now);
    conditions =
        Conditions.set(
            conditions,
            CarpApi.CONDITION_DEGRADED,
            firstProblem != null,
            firstProblem == null ? "AsExpected" : problemReason,
            firstProblem == null ? "every vhid has exactly one master" : problemMessage,
            generation,
            now);
    next.setConditions(conditions);

    String oldProblem =
        Conditions.isTrue(old.getConditions(), CarpApi.CONDITION_DEGRADED)
            ? Conditions.reason(old.getConditions(), CarpApi.CONDITION_DEGRADED)
            : null;
    if (firstProblem != null && !problemReason.equals(oldProblem))
      events.add(new Event(true, problemReason, problemMessage));
    return new Result(next, events);
  }
}
