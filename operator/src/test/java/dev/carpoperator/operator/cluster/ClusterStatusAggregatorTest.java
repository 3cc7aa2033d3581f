package dev.carpoperator.operator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.ClusterNodeStatus;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterStatus;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.SyncSpec;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.operator.status.AgentHeartbeats;
import dev.carpoperator.operator.status.StatusPatches;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterStatusAggregatorTest {
  static final Instant T0 = Instant.parse("2026-11-24T12:00:00Z");

  static FirewallCluster cluster(boolean sync) {
    FirewallCluster c = new FirewallCluster();
    c.setMetadata(new ObjectMetaBuilder().withName("mm").withGeneration(3L).build());
    if (sync) {
      SyncSpec s = new SyncSpec();
      s.setInterfaceName("eth2");
      c.getSpec().setSync(s);
    }
    return c;
  }

  static NodeVhidStatus entry(
      String node, int vhid, CarpState state, Integer demotion, Instant since, Instant last) {
    NodeVhidStatus n = new NodeVhidStatus();
    n.setName(node);
    n.setVhid(vhid);
    n.setState(state);
    n.setDemotion(demotion);
    n.setSince(since.toString());
    n.setLastReport(last == null ? null : last.toString());
    return n;
  }

  static NodeVhidStatus synced(NodeVhidStatus n, String sync) {
    n.setSync(sync);
    return n;
  }

  static VirtualAddress address(String name, NodeVhidStatus... nodes) {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName(name).build());
    va.getSpec().setCluster("mm");
    VirtualAddressStatus s = new VirtualAddressStatus();
    s.setNodes(List.of(nodes));
    va.setStatus(s);
    return va;
  }

  static Condition condition(FirewallClusterStatus s, String type) {
    return s.getConditions().stream()
        .filter(c -> type.equals(c.getType()))
        .findFirst()
        .orElseThrow();
  }

  static ClusterNodeStatus node(FirewallClusterStatus s, String name) {
    return s.getNodes().stream().filter(n -> name.equals(n.getName())).findFirst().orElseThrow();
  }

  @Test
  void everyNodeReportingIsNotDegraded() {
    Instant t = T0.minusSeconds(30);
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(
            cluster(false),
            List.of("minnie", "mickey"),
            List.of(
                address(
                    "lan",
                    entry("mickey", 1, CarpState.MASTER, 0, t, T0),
                    entry("minnie", 1, CarpState.BACKUP, 0, t, T0))),
            2,
            2,
            T0);
    assertThat(s.getNodes())
        .extracting(
            n -> n.getName() + " " + n.getAgentReady() + " " + n.getDemotion() + " " + n.getSync())
        .containsExactly("mickey true 0 disabled", "minnie true 0 disabled");
    assertThat(condition(s, CarpApi.CONDITION_READY).getStatus()).isEqualTo("True");
    Condition degraded = condition(s, CarpApi.CONDITION_DEGRADED);
    assertThat(degraded.getStatus()).isEqualTo("False");
    assertThat(degraded.getReason()).isEqualTo(ClusterStatusAggregator.AS_EXPECTED);
    assertThat(degraded.getObservedGeneration()).isEqualTo(3L);
    assertThat(s.getObservedGeneration()).isEqualTo(3L);
  }

  @Test
  void aSelectedNodeWhoseAgentIsSilentDegradesTheCluster() {
    Instant t = T0.minus(Duration.ofMinutes(10));
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(
            cluster(false),
            List.of("mickey", "minnie", "goofy"),
            List.of(
                address(
                    "lan",
                    entry("mickey", 1, CarpState.MASTER, 0, t, T0),
                    entry("minnie", 1, CarpState.BACKUP, 0, t, T0.minus(Duration.ofMinutes(4))))),
            3,
            1,
            T0);
    assertThat(s.getNodes())
        .extracting(ClusterNodeStatus::getAgentReady)
        .containsExactly(false, true, false); // goofy, mickey, minnie
    Condition degraded = condition(s, CarpApi.CONDITION_DEGRADED);
    assertThat(degraded.getStatus()).isEqualTo("True");
    assertThat(degraded.getReason()).isEqualTo(ClusterStatusAggregator.AGENTS_NOT_READY);
    assertThat(degraded.getMessage()).startsWith("goofy, minnie are selected but their agents");
    assertThat(degraded.getLastTransitionTime()).isEqualTo(T0.toString());
    assertThat(condition(s, CarpApi.CONDITION_READY).getReason())
        .isEqualTo(ClusterStatusAggregator.AGENTS_NOT_READY);
  }

  @Test
  void aFailingHealthCheckOfOneAddressIsNotTheNodesDemotion() {
    NodeVhidStatus unhealthy = entry("mickey", 2, CarpState.BACKUP, 1, T0.minusSeconds(5), T0);
    unhealthy.setFailingChecks(List.of("kube-proxy: connection refused"));
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(
            cluster(false),
            List.of("mickey"),
            List.of(
                address("lan", entry("mickey", 1, CarpState.MASTER, 0, T0.minusSeconds(60), T0)),
                address("svc", unhealthy)),
            1,
            1,
            T0);
    assertThat(node(s, "mickey").getDemotion()).isZero();
    FirewallClusterStatus onlyUnhealthy =
        ClusterStatusAggregator.aggregate(
            cluster(false), List.of("mickey"), List.of(address("svc", unhealthy)), 1, 1, T0);
    assertThat(node(onlyUnhealthy, "mickey").getDemotion())
        .as("with no other entry, the least there is")
        .isEqualTo(1);
  }

  @Test
  void theDemotionIsTheOneOfTheLatestStateChange() {
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(
            cluster(false),
            List.of("mickey"),
            List.of(
                address("lan", entry("mickey", 1, CarpState.BACKUP, 128, T0.minusSeconds(60), T0)),
                address("dmz", entry("mickey", 2, CarpState.INIT, 1, T0.minusSeconds(5), T0))),
            1,
            1,
            T0);
    assertThat(node(s, "mickey").getDemotion()).isEqualTo(1);
  }

  @Test
  void theSyncIsReportedPerNodeAndOneNotRunningDegrades() {
    Instant t = T0.minusSeconds(30);
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(
            cluster(true),
            List.of("a", "b", "c", "d", "e"),
            List.of(
                address(
                    "lan",
                    synced(entry("a", 1, CarpState.MASTER, 0, t, T0), "done"),
                    synced(entry("b", 1, CarpState.BACKUP, 32, t, T0), "receiving"),
                    synced(entry("c", 1, CarpState.BACKUP, 0, t, T0), "timed_out"),
                    entry("d", 1, CarpState.BACKUP, 0, t, T0))),
            5,
            5,
            T0);
    assertThat(s.getNodes())
        .extracting(n -> n.getName() + " " + n.getSync())
        .containsExactly("a in-sync", "b bulk-update", "c behind", "d disabled", "e null");
    Condition degraded = condition(s, CarpApi.CONDITION_DEGRADED);
    assertThat(degraded.getReason())
        .as("e's agent is missing, the first problem")
        .isEqualTo(ClusterStatusAggregator.AGENTS_NOT_READY);
    assertThat(degraded.getMessage())
        .contains("e is selected")
        .contains("spec.sync is set but d runs without state sync");
  }

  @Test
  void theLatestReportSaysTheSync() {
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(
            cluster(true),
            List.of("a"),
            List.of(
                address(
                    "lan",
                    synced(
                        entry("a", 1, CarpState.MASTER, 0, T0, T0.minusSeconds(50)), "receiving")),
                address("dmz", synced(entry("a", 2, CarpState.MASTER, 0, T0, T0), "done"))),
            1,
            1,
            T0);
    assertThat(node(s, "a").getSync()).isEqualTo("in-sync");
    assertThat(condition(s, CarpApi.CONDITION_DEGRADED).getStatus()).isEqualTo("False");
  }

  @Test
  void withoutAddressesTheDaemonSetSays() {
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(cluster(false), List.of("a", "b"), List.of(), 2, 1, T0);
    assertThat(s.getNodes()).extracting(ClusterNodeStatus::getAgentReady).containsOnlyNulls();
    Condition degraded = condition(s, CarpApi.CONDITION_DEGRADED);
    assertThat(degraded.getReason()).isEqualTo(ClusterStatusAggregator.AGENTS_NOT_READY);
    assertThat(degraded.getMessage()).isEqualTo("1 of 2 agents ready");

    FirewallClusterStatus none =
        ClusterStatusAggregator.aggregate(cluster(false), List.of(), List.of(), 0, 0, T0);
    assertThat(condition(none, CarpApi.CONDITION_DEGRADED).getReason())
        .isEqualTo(ClusterStatusAggregator.NO_NODES_SELECTED);
    assertThat(condition(none, CarpApi.CONDITION_READY).getReason())
        .isEqualTo(ClusterStatusAggregator.NO_NODES_SELECTED);
  }

  @Test
  void anUnchangedPictureIsNoStatusWrite() {
    FirewallCluster c = cluster(false);
    List<VirtualAddress> addresses =
        List.of(address("lan", entry("a", 1, CarpState.MASTER, 0, T0, T0)));
    c.setStatus(ClusterStatusAggregator.aggregate(c, List.of("a"), addresses, 1, 1, T0));
    FirewallClusterStatus later =
        ClusterStatusAggregator.aggregate(c, List.of("a"), addresses, 1, 1, T0.plusSeconds(30));
    assertThat(StatusPatches.sameStatus(c.getStatus(), later)).isTrue();
    // the agent goes silent: a write, and the condition's transition time moves
    FirewallClusterStatus silent =
        ClusterStatusAggregator.aggregate(
            c, List.of("a"), addresses, 1, 1, T0.plus(Duration.ofMinutes(4)));
    assertThat(StatusPatches.sameStatus(c.getStatus(), silent)).isFalse();
    assertThat(node(silent, "a").getAgentReady()).isFalse();
  }

  /** An agent renewing its heartbeat Lease is ready however old its entries are. */
  @Test
  void aRenewedHeartbeatLeaseKeepsTheAgentReady() {
    List<VirtualAddress> addresses =
        List.of(
            address(
                "lan",
                entry("a", 1, CarpState.MASTER, 0, T0, T0),
                entry("b", 1, CarpState.BACKUP, 0, T0, T0)));
    Instant later = T0.plus(Duration.ofMinutes(10));
    FirewallClusterStatus s =
        ClusterStatusAggregator.aggregate(
            cluster(false),
            List.of("a", "b"),
            addresses,
            2,
            2,
            new AgentHeartbeats(java.util.Map.of("a", later.minusSeconds(3))),
            later);
    assertThat(node(s, "a").getAgentReady()).as("Lease renewed 3 s ago").isTrue();
    assertThat(node(s, "b").getAgentReady()).as("no Lease, entries 10 minutes old").isFalse();
  }

  @Test
  void aSelectorMatchesOnEveryLabel() {
    assertThat(FirewallClusterReconciler.matches(java.util.Map.of(), null)).isTrue();
    assertThat(
            FirewallClusterReconciler.matches(
                java.util.Map.of("a", "1"), java.util.Map.of("a", "1", "b", "2")))
        .isTrue();
    assertThat(
            FirewallClusterReconciler.matches(
                java.util.Map.of("a", "1", "b", "3"), java.util.Map.of("a", "1", "b", "2")))
        .isFalse();
  }
}
