package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.engine.EngineListener.StateChange;
import dev.carpoperator.api.v1alpha1.BulkSyncState;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressSpec;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.Crds;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The agent's status entries on a real API server (server-side apply under the agent's own field
 * manager).
 */
class StatusReporterTest {
  static final String VA = "status-reporter-test";
  static final Map<KubePlan.Vhost, String> OWNERS = Map.of(new KubePlan.Vhost("eth0", 7), VA);

  static StateChange change(CarpState from, CarpState to, String reason) {
    return new StateChange("n1", "eth0", 7, from, to, reason, 0, 0, Instant.now());
  }

  static List<String> entries(KubernetesClient admin) {
    VirtualAddress va = admin.resources(VirtualAddress.class).withName(VA).get();
    if (va.getStatus() == null || va.getStatus().getNodes() == null) return List.of();
    return va.getStatus().getNodes().stream()
        .map(NodeVhidStatus::getName)
        .map(n -> n + "=" + stateOf(va, n))
        .toList();
  }

  static String stateOf(VirtualAddress va, String node) {
    return va.getStatus().getNodes().stream()
        .filter(n -> n.getName().equals(node))
        .map(n -> String.valueOf(n.getState()))
        .findFirst()
        .orElse("-");
  }

  static VirtualAddress create(KubernetesClient admin) {
    Crds.install(admin);
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName(VA).build());
    VirtualAddressSpec spec = new VirtualAddressSpec();
    spec.setCluster("status-test");
    spec.setVhid(7);
    spec.setAddresses(List.of("192.0.2.1/24"));
    va.setSpec(spec);
    return admin.resource(va).forceConflicts().serverSideApply();
  }

  /**
   * A vhid the engine refused (its address is the node's own) shows as INIT with the reason, until
   * it runs.
   */
  @Test
  void aRefusedVhidIsReportedAsInitWithItsReason() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      create(admin);
      try (StatusReporter r = new StatusReporter(admin, "n1", () -> OWNERS)) {
        r.vhidRefused("eth0", 7, "AddressIsNodeAddress", "vhid 7 on eth0 is not run: ...");
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> entries(admin).equals(List.of("n1=INIT")));
        NodeVhidStatus e =
            admin
                .resources(VirtualAddress.class)
                .withName(VA)
                .get()
                .getStatus()
                .getNodes()
                .getFirst();
        assertThat(e.getReason()).isEqualTo("AddressIsNodeAddress");
        assertThat(e.getVhid()).isEqualTo(7);

        r.stateChanged(
            change(CarpState.INIT, CarpState.BACKUP, "startup")); // corrected: the vhid runs
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> entries(admin).equals(List.of("n1=BACKUP")));
      } finally {
        admin.resources(VirtualAddress.class).withName(VA).delete();
      }
    }
  }

  /**
   * A restarted agent first reports its sync state (before any vhid has one): that must not
   * withdraw its entries.
   */
  /**
   * The demotion in an entry follows the node's advertised demotion, not only the value at its last
   * state change: a backup that came up during the start-up demotion must not show 128 for ever.
   */
  @Test
  void theDemotionFollowsTheNodeWithoutAStateChange() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      create(admin);
      try (StatusReporter r = new StatusReporter(admin, "n1", () -> OWNERS)) {
        r.stateChanged(
            new StateChange(
                "n1",
                "eth0",
                7,
                CarpState.INIT,
                CarpState.BACKUP,
                "startup",
                0,
                128,
                Instant.now()));
        await().atMost(Duration.ofSeconds(20)).until(() -> demotionOf(admin) == 128);
        r.demotionChanged(0);
        await().atMost(Duration.ofSeconds(20)).until(() -> demotionOf(admin) == 0);
        assertThat(entries(admin)).containsExactly("n1=BACKUP");
      }
    }
  }

  /**
   * A report that would write what the API server already has is left out (an agent with hundreds
   * of addresses re-marks them all on each demotion, sync or action change); a real change is
   * written.
   */
  @Test
  void anUnchangedReportIsNotWrittenAgain() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      create(admin);
      try (StatusReporter r = new StatusReporter(admin, "n1", () -> OWNERS)) {
        r.stateChanged(change(CarpState.INIT, CarpState.BACKUP, "startup"));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> entries(admin).equals(List.of("n1=BACKUP")));
        await().atMost(Duration.ofSeconds(20)).until(() -> r.writes() == 1);

        r.healthChanged(VA, 0, List.of()); // no checks, as before: nothing to write
        await().atMost(Duration.ofSeconds(20)).until(() -> r.unchangedSkipped() == 1);
        assertThat(r.writes()).isEqualTo(1);

        r.healthChanged(VA, 20, List.of("web: connection refused"));
        await().atMost(Duration.ofSeconds(20)).until(() -> r.writes() == 2);
        assertThat(
                admin
                    .resources(VirtualAddress.class)
                    .withName(VA)
                    .get()
                    .getStatus()
                    .getNodes()
                    .getFirst()
                    .getFailingChecks())
            .containsExactly("web: connection refused");
      } finally {
        admin.resources(VirtualAddress.class).withName(VA).delete();
      }
    }
  }

  /**
   * A master's entry is refreshed (every {@value StatusReporter#MASTER_REFRESH_MILLIS} ms) only
   * while the heartbeat Lease is not renewed: with it, the operator reads the Lease instead, and
   * 1,000 masters no longer cost 100 writes a second.
   */
  @Test
  void aMasterIsRefreshedOnlyWithoutTheHeartbeatLease() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      create(admin);
      AtomicBoolean leased = new AtomicBoolean(true);
      try (StatusReporter r =
          new StatusReporter(admin, "n1", () -> OWNERS).heartbeat(leased::get)) {
        r.stateChanged(change(CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
        await().atMost(Duration.ofSeconds(20)).until(() -> r.writes() == 1);
        // Longer than a master refresh interval, with the Lease renewed: nothing more is written.
        await()
            .during(Duration.ofMillis(StatusReporter.MASTER_REFRESH_MILLIS + 2_000))
            .atMost(Duration.ofMillis(StatusReporter.MASTER_REFRESH_MILLIS + 5_000))
            .until(() -> r.writes() == 1);
        leased.set(false); // renewals fail: the entry is refreshed again
        await()
            .atMost(Duration.ofMillis(StatusReporter.MASTER_REFRESH_MILLIS + 10_000))
            .until(() -> r.writes() >= 2);
      } finally {
        admin.resources(VirtualAddress.class).withName(VA).delete();
      }
    }
  }

  static int demotionOf(KubernetesClient admin) {
    VirtualAddress va = admin.resources(VirtualAddress.class).withName(VA).get();
    if (va.getStatus() == null || va.getStatus().getNodes() == null) return -1;
    return va.getStatus().getNodes().stream()
        .filter(n -> n.getName().equals("n1"))
        .map(n -> n.getDemotion() == null ? -1 : n.getDemotion())
        .findFirst()
        .orElse(-1);
  }

  @Test
  void aRestartedAgentKeepsItsEntriesUntilItsVhidsHaveAState() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      Crds.install(admin);
      VirtualAddress va = new VirtualAddress();
      va.setMetadata(new ObjectMetaBuilder().withName(VA).build());
      VirtualAddressSpec spec = new VirtualAddressSpec();
      spec.setCluster("status-test");
      spec.setVhid(7);
      spec.setAddresses(List.of("192.0.2.1/24"));
      va.setSpec(spec);
      admin.resource(va).forceConflicts().serverSideApply();

      try (StatusReporter first = new StatusReporter(admin, "n1", () -> OWNERS)) {
        first.stateChanged(change(CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> entries(admin).equals(List.of("n1=MASTER")));
      }
      try (StatusReporter second = new StatusReporter(admin, "n1", () -> OWNERS)) {
        second.syncChanged(BulkSyncState.REQUESTING);
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(5))
            .until(() -> entries(admin).equals(List.of("n1=MASTER")));
        second.stateChanged(change(CarpState.INIT, CarpState.BACKUP, "startup"));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> entries(admin).equals(List.of("n1=BACKUP")));
        assertThat(
                admin
                    .resources(VirtualAddress.class)
                    .withName(VA)
                    .get()
                    .getStatus()
                    .getNodes()
                    .getFirst()
                    .getSync())
            .isEqualTo("requesting");
      } finally {
        admin.resources(VirtualAddress.class).withName(VA).delete();
      }
    }
  }
}
