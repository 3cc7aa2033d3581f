package dev.carpoperator.operator.address;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.operator.status.AgentHeartbeats;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AddressStatusAggregatorTest {
  static final Instant T0 = Instant.parse("2026-11-24T12:00:00Z");

  /**
   * Applies one round of agent reports and the operator's aggregation, as the API server would
   * merge them.
   */
  static VirtualAddress step(VirtualAddress va, Instant now, Object... nodeStates) {
    List<NodeVhidStatus> nodes = new ArrayList<>();
    for (int i = 0; i < nodeStates.length; i += 2) {
      NodeVhidStatus n = new NodeVhidStatus();
      n.setName((String) nodeStates[i]);
      n.setVhid(1);
      n.setState((CarpState) nodeStates[i + 1]);
      nodes.add(n);
    }
    VirtualAddressStatus reported =
        va.getStatus() == null ? new VirtualAddressStatus() : va.getStatus();
    reported.setNodes(nodes);
    va.setStatus(reported);
    var result = AddressStatusAggregator.aggregate(va, true, Set.of(), now);
    result.status().setNodes(nodes);
    va.setStatus(result.status());
    lastEvents = result.events();
    return va;
  }

  static List<AddressStatusAggregator.Event> lastEvents;

  static VirtualAddress address() {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName("lan").withGeneration(1L).build());
    va.getSpec().setCluster("c");
    va.getSpec().setVhid(1);
    va.getSpec().setAddresses(List.of("192.0.2.1/24"));
    return va;
  }

  @Test
  void aFailoverThroughNoMasterIsCountedOnce() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER, "b", CarpState.BACKUP);
    assertThat(va.getStatus().getMaster()).isEqualTo("a");
    assertThat(lastEvents)
        .extracting(AddressStatusAggregator.Event::reason)
        .containsExactly("MasterElected");

    step(
        va,
        T0.plusSeconds(1),
        "a",
        CarpState.INIT,
        "b",
        CarpState.BACKUP); // a died, b still waiting
    assertThat(va.getStatus().getMaster()).isNull();
    assertThat(va.getStatus().getLastMaster()).isEqualTo("a");
    assertThat(lastEvents)
        .extracting(AddressStatusAggregator.Event::reason)
        .containsExactly("NoMaster");

    step(va, T0.plusSeconds(4), "a", CarpState.INIT, "b", CarpState.MASTER);
    assertThat(va.getStatus().getMaster()).isEqualTo("b");
    assertThat(va.getStatus().getFailoverCount()).isEqualTo(1);
    assertThat(va.getStatus().getLastTransitionTime()).isEqualTo(T0.plusSeconds(4).toString());
    assertThat(lastEvents)
        .extracting(AddressStatusAggregator.Event::message)
        .containsExactly("master moved from a to b");

    step(
        va,
        T0.plusSeconds(5),
        "a",
        CarpState.BACKUP,
        "b",
        CarpState.MASTER); // a returns as backup: no change
    assertThat(va.getStatus().getFailoverCount()).isEqualTo(1);
    assertThat(lastEvents).isEmpty();
  }

  /**
   * Nodes that start together are all MASTER for a moment. The split brain degrades the address; it
   * is not a failover, and the Event when it ends names the single masters before and after.
   */
  @Test
  void aSplitBrainIsNoFailoverAndItsEndIsComparedWithTheLastSingleMaster() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER, "b", CarpState.MASTER);
    assertThat(va.getStatus().getMaster()).isEqualTo("a+b");
    assertThat(va.getStatus().getLastMaster()).isNull();
    assertThat(lastEvents)
        .extracting(AddressStatusAggregator.Event::reason)
        .doesNotContain("MasterElected", "MasterChanged");
    assertThat(va.getStatus().getConditions())
        .anySatisfy(c -> assertThat(c.getReason()).isEqualTo("MultipleMasters"));

    step(va, T0.plusSeconds(1), "a", CarpState.BACKUP, "b", CarpState.MASTER);
    assertThat(lastEvents)
        .extracting(AddressStatusAggregator.Event::message)
        .contains("b is master");
    assertThat(va.getStatus().getFailoverCount()).isZero();

    step(va, T0.plusSeconds(2), "a", CarpState.MASTER, "b", CarpState.MASTER); // a preempts
    assertThat(va.getStatus().getLastMaster()).isEqualTo("b");
    assertThat(va.getStatus().getFailoverCount()).isZero();
    step(va, T0.plusSeconds(3), "a", CarpState.MASTER, "b", CarpState.BACKUP);
    assertThat(lastEvents)
        .extracting(AddressStatusAggregator.Event::message)
        .contains("master moved from b to a");
    assertThat(va.getStatus().getFailoverCount()).isEqualTo(1);
  }

  @Test
  void readyKeepsItsTransitionTimeWhileNothingChanges() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER);
    String since =
        va.getStatus().getConditions().stream()
            .filter(c -> c.getType().equals("Ready"))
            .findFirst()
            .orElseThrow()
            .getLastTransitionTime();
    step(va, T0.plusSeconds(60), "a", CarpState.MASTER);
    assertThat(va.getStatus().getConditions())
        .filteredOn(c -> c.getType().equals("Ready"))
        .singleElement()
        .satisfies(c -> assertThat(c.getLastTransitionTime()).isEqualTo(since));
  }

  @Test
  void vhidsAreAllocatedLowestFreeAndKeptWhileFree() {
    assertThat(VhidAllocator.allocate(null, Set.of(1, 2, 4))).isEqualTo(3);
    assertThat(VhidAllocator.allocate(7, Set.of(1, 2))).isEqualTo(7);
    assertThat(VhidAllocator.allocate(2, Set.of(1, 2))).isEqualTo(3);
    Set<Integer> all = new java.util.HashSet<>();
    for (int i = 1; i <= 255; i++) all.add(i);
    assertThat(VhidAllocator.allocate(null, all)).isNull();
  }

  static NodeVhidStatus entry(String node, CarpState state, String since, String lastReport) {
    NodeVhidStatus n = new NodeVhidStatus();
    n.setName(node);
    n.setVhid(1);
    n.setState(state);
    n.setSince(since);
    n.setLastReport(lastReport);
    return n;
  }

  @Test
  void aSilentOldMasterIsSupersededButALiveOneIsASplitBrain() {
    // a crashed at 12:00:05 (its last report); b took over at 12:00:08: b is the only master.
    var crashed =
        List.of(
            entry("a", CarpState.MASTER, "2026-11-24T12:00:00Z", "2026-11-24T12:00:05Z"),
            entry("b", CarpState.MASTER, "2026-11-24T12:00:08Z", "2026-11-24T12:00:08Z"));
    assertThat(AddressStatusAggregator.currentMasters(crashed, 1)).containsExactly("b");
    // a reported again after b's takeover: a is alive and still MASTER, so both are.
    var split =
        List.of(
            entry("a", CarpState.MASTER, "2026-11-24T12:00:00Z", "2026-11-24T12:00:15Z"),
            entry("b", CarpState.MASTER, "2026-11-24T12:00:08Z", "2026-11-24T12:00:08Z"));
    assertThat(AddressStatusAggregator.currentMasters(split, 1)).containsExactly("a", "b");
  }

  @Test
  void aNodeRefusingTheVhidBecauseTheAddressIsItsOwnDegradesWithAWarning() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER, "b", CarpState.INIT);
    va.getStatus().getNodes().get(1).setReason(AddressStatusAggregator.ADDRESS_IS_NODE_ADDRESS);
    var result = AddressStatusAggregator.aggregate(va, true, Set.of(), T0.plusSeconds(5));
    assertThat(result.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getStatus()).isEqualTo("True");
              assertThat(c.getReason()).isEqualTo("AddressIsNodeAddress");
              assertThat(c.getMessage())
                  .startsWith(
                      "b refuses to run vhid 1: an address in spec.addresses is that node's own address");
            });
    assertThat(result.status().getConditions())
        .as("a still holds it")
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Ready");
              assertThat(c.getStatus()).isEqualTo("True");
            });
    assertThat(result.events())
        .anySatisfy(
            e -> {
              assertThat(e.warning()).isTrue();
              assertThat(e.reason()).isEqualTo("AddressIsNodeAddress");
            });
  }

  @Test
  void recentAuthenticationFailuresDegradeButKeepTheAddressReady() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER, "b", CarpState.BACKUP);
    va.getStatus()
        .getNodes()
        .get(1)
        .setAuthFailures(3L); // b rejects adverts: another password on b
    var result = AddressStatusAggregator.aggregate(va, true, Set.of(), T0.plusSeconds(30));
    assertThat(result.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getStatus()).isEqualTo("True");
              assertThat(c.getReason()).isEqualTo("AuthenticationFailures");
              assertThat(c.getMessage())
                  .isEqualTo(
                      "b rejects adverts with a wrong password or address set (in the last 5 minutes)");
            });
    assertThat(result.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Ready");
              assertThat(c.getStatus()).isEqualTo("True");
            });
    assertThat(result.events())
        .extracting(AddressStatusAggregator.Event::reason)
        .contains("AuthenticationFailures");
  }

  @Test
  void aNodeStillReceivingThePeersConnectionStatesDegradesUntilItsBulkUpdateIsDone() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER, "b", CarpState.BACKUP);
    va.getStatus().getNodes().get(0).setSync("done");
    va.getStatus().getNodes().get(1).setSync("receiving");
    var pending = AddressStatusAggregator.aggregate(va, true, Set.of(), T0.plusSeconds(5));
    assertThat(pending.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getStatus()).isEqualTo("True");
              assertThat(c.getReason()).isEqualTo("SyncBehind");
              assertThat(c.getMessage())
                  .startsWith("b (receiving) has not received the peers' connection states yet");
            });
    assertThat(pending.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Ready");
              assertThat(c.getStatus()).isEqualTo("True");
            });
    va.getStatus().getNodes().get(1).setSync("done");
    var done = AddressStatusAggregator.aggregate(va, true, Set.of(), T0.plusSeconds(6));
    assertThat(done.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getStatus()).isEqualTo("False");
            });
    va.getStatus().getNodes().get(1).setSync("catching-up"); // a state this operator does not know
    var unknown = AddressStatusAggregator.aggregate(va, true, Set.of(), T0.plusSeconds(7));
    assertThat(unknown.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getStatus()).isEqualTo("False");
            });
  }

  @Test
  void failingHealthChecksDegradeWithoutUnreadyingAndSayWhereAndWhy() {
    VirtualAddress va = address();
    step(va, T0, "b", CarpState.MASTER, "a", CarpState.BACKUP);
    va.getStatus().getNodes().get(1).setFailingChecks(List.of("kube-proxy: connection refused"));
    var result = AddressStatusAggregator.aggregate(va, true, Set.of(), T0.plusSeconds(5));
    assertThat(result.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getStatus()).isEqualTo("True");
              assertThat(c.getReason()).isEqualTo("HealthChecksFailing");
              assertThat(c.getMessage())
                  .isEqualTo(
                      "health checks fail on a (kube-proxy: connection refused); it is demoted for this address");
            })
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Ready");
              assertThat(c.getStatus()).isEqualTo("True");
            });
    assertThat(result.events())
        .extracting(AddressStatusAggregator.Event::reason)
        .contains("HealthChecksFailing");
    va.getStatus().getNodes().get(1).setFailingChecks(null);
    assertThat(
            AddressStatusAggregator.aggregate(va, true, Set.of(), T0.plusSeconds(6))
                .status()
                .getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getStatus()).isEqualTo("False");
            });
  }

  @Test
  void aSelectedNodeWhoseAgentIsSilentDegradesTheAddress() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER);
    va.getStatus().getNodes().getFirst().setLastReport(T0.toString());
    var fresh =
        AddressStatusAggregator.aggregate(
            va, true, List.of("a", "b"), Set.of(), T0.plusSeconds(10));
    assertThat(fresh.status().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo("Degraded");
              assertThat(c.getReason()).isEqualTo("AgentMissing");
              assertThat(c.getMessage())
                  .startsWith("b is selected by FirewallCluster c but its agent has not reported");
            });
    assertThat(fresh.status().getConditions())
        .anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus()).isEqualTo("Ready=True"));
    // Four minutes later a has not reported either: both are named.
    var later =
        AddressStatusAggregator.aggregate(
            va, true, List.of("a", "b"), Set.of(), T0.plusSeconds(240));
    assertThat(later.status().getConditions())
        .anySatisfy(c -> assertThat(c.getMessage()).startsWith("a, b are selected"));
  }

  /**
   * Agents that renew a heartbeat Lease do not refresh their entries: the Lease's renewal is when
   * the master was last heard from.
   */
  @Test
  void theHeartbeatLeaseTellsASilentOldMasterFromASplitBrain() {
    // a became master at 12:00:00 and wrote nothing since; b took over at 12:00:08.
    var entries =
        List.of(
            entry("a", CarpState.MASTER, "2026-11-24T12:00:00Z", "2026-11-24T12:00:00Z"),
            entry("b", CarpState.MASTER, "2026-11-24T12:00:08Z", "2026-11-24T12:00:08Z"));
    // a's Lease was last renewed before b's takeover: a is gone, b is the master.
    var crashed = new AgentHeartbeats(Map.of("a", T0.plusSeconds(5), "b", T0.plusSeconds(9)));
    assertThat(AddressStatusAggregator.currentMasters(entries, 1, crashed)).containsExactly("b");
    // a's Lease was renewed after b's takeover: a is alive and still MASTER, a split brain.
    var alive = new AgentHeartbeats(Map.of("a", T0.plusSeconds(15), "b", T0.plusSeconds(15)));
    assertThat(AddressStatusAggregator.currentMasters(entries, 1, alive)).containsExactly("a", "b");
    // Without Leases (agents of an older version), the entries' own times decide, as before.
    assertThat(AddressStatusAggregator.currentMasters(entries, 1, AgentHeartbeats.NONE))
        .containsExactly("b");
  }

  /**
   * a's node lost power while a was MASTER; b took over; a's node came back and its new agent
   * renewed the Lease before rewriting its entries. The old MASTER entry is the earlier run's: a is
   * not a second master (the operator used to report "master moved from b to a+b" for a moment).
   */
  @Test
  void aRestartedAgentsRenewalDoesNotReviveItsEarlierRunsMasterEntry() {
    var bTookOver = entry("b", CarpState.MASTER, "2026-11-24T12:00:08Z", "2026-11-24T12:00:08Z");
    var entries =
        List.of(
            entry("a", CarpState.MASTER, "2026-11-24T12:00:00Z", "2026-11-24T12:00:00Z"),
            bTookOver);
    var runStarts = Map.of("a", T0.plusSeconds(30), "b", T0.minusSeconds(60));
    var restarted =
        new AgentHeartbeats(Map.of("a", T0.plusSeconds(31), "b", T0.plusSeconds(30)), runStarts);
    assertThat(AddressStatusAggregator.currentMasters(entries, 1, restarted)).containsExactly("b");
    // Once the new run reports MASTER again (a preempts back) its entry is its own: while b's
    // Lease is renewed after that and b's BACKUP entry has not come, both are masters.
    var preempted =
        List.of(
            entry("a", CarpState.MASTER, "2026-11-24T12:00:35Z", "2026-11-24T12:00:35Z"),
            bTookOver);
    var bothRenewed =
        new AgentHeartbeats(Map.of("a", T0.plusSeconds(36), "b", T0.plusSeconds(36)), runStarts);
    assertThat(AddressStatusAggregator.currentMasters(preempted, 1, bothRenewed))
        .containsExactly("a", "b");
  }

  @Test
  void aRenewedLeaseKeepsAnAgentWithOldEntriesFromBeingReportedMissing() {
    VirtualAddress va = address();
    step(va, T0, "a", CarpState.MASTER, "b", CarpState.BACKUP);
    for (NodeVhidStatus n : va.getStatus().getNodes()) n.setLastReport(T0.toString());
    Instant tenMinutesLater = T0.plusSeconds(600);
    java.util.function.Function<AgentHeartbeats, List<io.fabric8.kubernetes.api.model.Condition>>
        conditionsWith =
            heartbeats ->
                AddressStatusAggregator.aggregate(
                        va, true, List.of("a", "b"), Set.of(), heartbeats, tenMinutesLater)
                    .status()
                    .getConditions();
    assertThat(
            conditionsWith.apply(
                new AgentHeartbeats(
                    Map.of("a", tenMinutesLater, "b", tenMinutesLater.minusSeconds(5)))))
        .anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus()).isEqualTo("Degraded=False"));
    // b's Lease stopped four minutes ago: b's agent is missing, a's is not.
    assertThat(
            conditionsWith.apply(
                new AgentHeartbeats(
                    Map.of("a", tenMinutesLater, "b", tenMinutesLater.minusSeconds(240)))))
        .anySatisfy(
            c -> {
              assertThat(c.getReason()).isEqualTo("AgentMissing");
              assertThat(c.getMessage()).startsWith("b is selected by FirewallCluster c");
            });
    // b's agent restarted a second ago and has not rewritten its entry yet: it runs all the same
    // (its renewal does not vouch for the old entry, but for the agent).
    assertThat(
            conditionsWith.apply(
                new AgentHeartbeats(
                    Map.of("a", tenMinutesLater, "b", tenMinutesLater),
                    Map.of("b", tenMinutesLater.minusSeconds(1)))))
        .anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus()).isEqualTo("Degraded=False"));
  }
}
