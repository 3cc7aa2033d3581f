package dev.carpoperator.operator.address;

import dev.carpoperator.api.v1alpha1.CarpNode;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.ClusterNodeStatus;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.OperatorMetrics;
import dev.carpoperator.operator.status.AgentHeartbeats;
import dev.carpoperator.operator.status.EventRecorder;
import dev.carpoperator.operator.status.OncePerGeneration;
import dev.carpoperator.operator.status.StatusPatches;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Validates a VirtualAddress's cluster, allocates its vhid, and turns the agents' per-node reports
 * into Ready / Degraded, the master, failovers and Events. Agents write {@code status.nodes} (their
 * own entries, by server-side apply); this reconciler never touches them.
 */
// Not generation-aware: the agents' reports change only the status, and each must be aggregated.
// The operator's
// own status patches do not loop, because an unchanged status is never patched again.
@ControllerConfiguration(name = "virtualaddress", generationAwareEventProcessing = false)
public class VirtualAddressReconciler implements Reconciler<VirtualAddress> {
  private static final Logger log = LoggerFactory.getLogger(VirtualAddressReconciler.class);
  static final String EVENT_NAMESPACE = EventRecorder.EVENT_NAMESPACE;

  /**
   * Vhids handed out but possibly not yet visible in the cache: two new addresses never get the
   * same one.
   */
  private final Map<String, Integer> recentAllocations = new HashMap<>();

  private final OperatorMetrics metrics;

  /**
   * Last state seen per address, then per "node/vhid": each change becomes a StateChanged Event
   * (ifstated users' log). An address's entries follow its status.nodes (an entry withdrawn by its
   * agent goes); a deleted address's go at the next sweep.
   */
  private final Map<String, Map<String, String>> lastStates = new ConcurrentHashMap<>();

  /** When the maps were last swept of deleted addresses ({@link System#nanoTime}). */
  private volatile long lastSweep = System.nanoTime();

  static final Duration SWEEP_INTERVAL = Duration.ofMinutes(1);

  private final OncePerGeneration noPasswordWarning = new OncePerGeneration();

  private static final String BY_CLUSTER = "by-cluster";

  /** The agents' namespace, where their heartbeat Leases are; null: Leases are not watched. */
  private final String agentNamespace;

  private InformerEventSource<Lease, VirtualAddress> leases;

  public VirtualAddressReconciler(OperatorMetrics metrics) {
    this(metrics, null);
  }

  public VirtualAddressReconciler(OperatorMetrics metrics, String agentNamespace) {
    this.metrics = metrics;
    this.agentNamespace = agentNamespace;
  }

  /**
   * FirewallClusters from an informer, not a GET per reconcile: agents' status reports reconcile an
   * address every few seconds, and with 1,000 addresses the GETs were 99 % of the operator's API
   * calls (./carp bench scale). A cluster that appears or changes its nodes reconciles its
   * addresses at once.
   */
  @Override
  public List<EventSource<?, VirtualAddress>> prepareEventSources(
      EventSourceContext<VirtualAddress> context) {
    context
        .getPrimaryCache()
        .addIndexer(BY_CLUSTER, va -> List.of(String.valueOf(va.getSpec().getCluster())));
    var config =
        InformerEventSourceConfiguration.from(FirewallCluster.class, VirtualAddress.class)
            .withSecondaryToPrimaryMapper(
                fwc ->
                    context
                        .getPrimaryCache()
                        .byIndex(BY_CLUSTER, fwc.getMetadata().getName())
                        .stream()
                        .map(ResourceID::fromResource)
                        .collect(Collectors.toSet()))
            .withPrimaryToSecondaryMapper(
                (VirtualAddress va) ->
                    va.getSpec().getCluster() == null
                        ? Set.<ResourceID>of()
                        : Set.of(new ResourceID(va.getSpec().getCluster())))
            .build();
    if (agentNamespace == null) return List.of(new InformerEventSource<>(config, context));
    // A renewal matters to an address only where this node's MASTER entry may be superseded by
    // another node's: the renewal shows this master alive, i.e. a split brain.
    leases =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Lease.class, VirtualAddress.class)
                .withNamespaces(Set.of(agentNamespace))
                .withLabelSelector(AgentHeartbeats.LABEL_SELECTOR)
                .withSecondaryToPrimaryMapper(
                    lease ->
                        contestedMastersOf(
                            AgentHeartbeats.nodeOf(lease), context.getPrimaryCache().list()))
                .build(),
            context);
    return List.of(new InformerEventSource<>(config, context), leases);
  }

  /** The addresses where {@code node} and another node both have a MASTER entry for one vhid. */
  static Set<ResourceID> contestedMastersOf(String node, Stream<VirtualAddress> addresses) {
    if (node == null) return Set.of();
    return addresses
        .filter(
            va -> {
              if (va.getStatus() == null || va.getStatus().getNodes() == null) return false;
              var nodes = va.getStatus().getNodes();
              return nodes.stream()
                  .filter(n -> node.equals(n.getName()) && n.getState() == CarpState.MASTER)
                  .anyMatch(
                      own ->
                          nodes.stream()
                              .anyMatch(
                                  other ->
                                      !node.equals(other.getName())
                                          && other.getState() == CarpState.MASTER
                                          && Objects.equals(other.getVhid(), own.getVhid())));
            })
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  /** When each node's agent last renewed its heartbeat Lease (none known without the informer). */
  private AgentHeartbeats heartbeats() {
    return leases == null ? AgentHeartbeats.NONE : AgentHeartbeats.of(leases.list(agentNamespace));
  }

  @Override
  public UpdateControl<VirtualAddress> reconcile(
      VirtualAddress va, Context<VirtualAddress> context) {
    if (System.nanoTime() - lastSweep > SWEEP_INTERVAL.toNanos()) {
      lastSweep = System.nanoTime();
      forgetAllBut(context.getPrimaryCache().list().toList());
    }
    String cluster = va.getSpec().getCluster();
    FirewallCluster fwc =
        cluster == null ? null : context.getSecondaryResource(FirewallCluster.class).orElse(null);
    boolean clusterExists = fwc != null;
    List<String> selected =
        fwc == null || fwc.getStatus() == null
            ? List.of()
            : fwc.getStatus().getNodes().stream().map(ClusterNodeStatus::getName).toList();
    // Only the eligible nodes run the vhid (a Local Service's address): only they must report.
    List<String> eligible = va.getSpec().getEligibleNodes();
    if (eligible != null && !eligible.isEmpty())
      selected = selected.stream().filter(eligible::contains).toList();
    AddressStatusAggregator.Result result;
    synchronized (recentAllocations) {
      Set<Integer> others = vhidsOfOthers(va, context);
      result =
          AddressStatusAggregator.aggregate(
              va, clusterExists, selected, others, heartbeats(), Instant.now());
      if (va.getSpec().getVhid() == null && result.status().getVhid() != null)
        recentAllocations.put(va.getMetadata().getName(), result.status().getVhid());
    }
    for (AddressStatusAggregator.Event e : transitions(va)) {
      record(context, va, e);
      metrics.event(e.reason(), e.warning());
    }
    if (noPasswordWarning.due(va, va.getSpec().getPasswordSecretRef() == null)) {
      record(
          context,
          va,
          new AddressStatusAggregator.Event(
              true,
              "NoPassword",
              "no spec.passwordSecretRef: the adverts are signed"
                  + " with an all-zero key, so anyone on the segment can forge them and take the address; name a Secret with a random"
                  + " passphrase"));
      metrics.event("NoPassword", true);
    }
    for (AddressStatusAggregator.Event e : result.events()) {
      record(context, va, e);
      metrics.event(e.reason(), e.warning());
    }

    UpdateControl<VirtualAddress> control =
        StatusPatches.sameStatus(va.getStatus(), result.status())
            ? UpdateControl.noUpdate()
            : UpdateControl.patchStatus(
                StatusPatches.fresh(va, new VirtualAddress(), result.status()));
    // A missing cluster may appear later, and a silent agent is only noticed with time: look again.
    return control.rescheduleAfter(clusterExists ? Duration.ofSeconds(60) : Duration.ofSeconds(10));
  }

  /**
   * Forgets what is kept for addresses not in {@code live} (deleted ones; JOSDK calls no reconcile
   * for a deletion without a finalizer, which these addresses do not need), and allocations that
   * the cache shows now.
   */
  void forgetAllBut(List<VirtualAddress> live) {
    Map<String, VirtualAddress> byName = new HashMap<>();
    for (VirtualAddress va : live) byName.put(va.getMetadata().getName(), va);
    lastStates.keySet().retainAll(byName.keySet());
    noPasswordWarning.retainOnly(byName.keySet());
    synchronized (recentAllocations) {
      recentAllocations
          .entrySet()
          .removeIf(
              e -> {
                VirtualAddress va = byName.get(e.getKey());
                return va == null
                    || va.getSpec().getVhid() != null
                    || (va.getStatus() != null
                        && Objects.equals(va.getStatus().getVhid(), e.getValue()));
              });
    }
  }

  /** How many entries the reconciler keeps in memory (for tests). */
  int remembered() {
    synchronized (recentAllocations) {
      return lastStates.values().stream().mapToInt(Map::size).sum()
          + recentAllocations.size()
          + noPasswordWarning.size();
    }
  }

  /** One Normal Event per node state change the agents reported since the last reconcile. */
  List<AddressStatusAggregator.Event> transitions(VirtualAddress va) {
    String name = va.getMetadata().getName();
    if (va.getStatus() == null || va.getStatus().getNodes() == null) {
      lastStates.remove(name);
      return List.of();
    }
    Map<String, String> before = lastStates.getOrDefault(name, Map.of());
    Map<String, String> seen = new HashMap<>();
    List<AddressStatusAggregator.Event> out = new ArrayList<>();
    for (var n : va.getStatus().getNodes()) {
      if (n.getState() == null) continue;
      String key = n.getName() + "/" + n.getVhid();
      String now = n.getState().name();
      seen.put(key, now);
      String previous = before.get(key);
      // Seeded silently on first sight (e.g. after an operator restart) so old history is not
      // replayed.
      if (previous != null && !previous.equals(now)) {
        out.add(
            new AddressStatusAggregator.Event(
                false,
                "StateChanged",
                n.getName()
                    + ": vhid "
                    + n.getVhid()
                    + " "
                    + previous
                    + " -> "
                    + now
                    + (n.getReason() == null ? "" : " (" + n.getReason() + ")")));
      }
    }
    // Entries the agents withdrew (a node left the cluster, a vhid was removed) are forgotten.
    if (seen.isEmpty()) lastStates.remove(name);
    else lastStates.put(name, seen);
    return out;
  }

  /** Vhids claimed by the other addresses of the same cluster (treated as one segment). */
  private Set<Integer> vhidsOfOthers(VirtualAddress va, Context<VirtualAddress> context) {
    Set<Integer> taken = new HashSet<>();
    context
        .getPrimaryCache()
        .list()
        .filter(o -> !o.getMetadata().getName().equals(va.getMetadata().getName()))
        .filter(o -> Objects.equals(o.getSpec().getCluster(), va.getSpec().getCluster()))
        .forEach(
            o -> {
              if (o.getSpec().getVhid() != null) taken.add(o.getSpec().getVhid());
              else if (o.getStatus() != null
                  && o.getStatus().getVhid() != null
                  && o.getSpec().getCarpNodes().isEmpty()) taken.add(o.getStatus().getVhid());
              for (CarpNode c : o.getSpec().getCarpNodes()) taken.add(c.getVhid());
              Integer recent = recentAllocations.get(o.getMetadata().getName());
              if (recent != null && o.getSpec().getVhid() == null) taken.add(recent);
            });
    return taken;
  }

  private void record(
      Context<VirtualAddress> context, VirtualAddress va, AddressStatusAggregator.Event e) {
    EventRecorder.record(context.getClient(), va, e.warning(), e.reason(), e.message());
  }
}
