package dev.carpoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.kube.NodeHeartbeat;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.operator.status.AgentHeartbeats;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Crds;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/rbac/*.yaml is enough, and no more than needed: the operator runs with a token of its own
 * ServiceAccount (leader election on), and the agent's role may write VirtualAddress status but not
 * spec or Secrets elsewhere.
 */
class RbacOnRealApiServerTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static KubernetesClient admin;
  static KubernetesClient operatorClient;
  static KubernetesClient agentClient;
  static Operator operator;

  @BeforeAll
  static void startWithServiceAccountToken() throws IOException {
    admin = ControlPlane.shared().adminClient();
    Crds.install(admin);
    for (String ns : List.of("carp-system", "carp-agents")) {
      admin
          .namespaces()
          .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .serverSideApply();
    }
    for (String f : List.of("operator.yaml", "agent.yaml")) {
      try (InputStream in =
          Files.newInputStream(
              ControlPlaneBinaries.repositoryRoot().resolve("deploy/rbac").resolve(f))) {
        for (HasMetadata item : admin.load(in).items())
          admin.resource(item).forceConflicts().serverSideApply();
      }
    }
    operatorClient = clientFor("carp-system", "carp-operator");
    agentClient = clientFor("carp-agents", "carp-agent");
    OperatorSettings settings =
        new OperatorSettings(
            "carp-system",
            "carp-agents",
            "example/carp-agent:test",
            "IfNotPresent",
            true,
            "rbac-test",
            0,
            false);
    operator =
        OperatorMain.start(
            settings, o -> o.withKubernetesClient(operatorClient).withCloseClientOnStop(false));
  }

  static KubernetesClient clientFor(String namespace, String serviceAccount) {
    return ControlPlane.shared().serviceAccountClient(admin, namespace, serviceAccount);
  }

  @AfterAll
  static void stop() {
    if (operator != null) operator.stop();
    for (KubernetesClient c : new KubernetesClient[] {operatorClient, agentClient, admin})
      if (c != null) c.close();
  }

  @Test
  void theOperatorDoesItsWholeJobWithItsOwnRole() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("rbac-check").build());
    admin.resource(fwc).create();
    VirtualAddress va =
        OperatorOnRealApiServerTest.address("rbac-check-va", "rbac-check", 42, "192.0.2.42/24");
    admin.resource(va).create();

    await()
        .atMost(WAIT)
        .until(
            () ->
                admin
                        .apps()
                        .daemonSets()
                        .inNamespace("carp-agents")
                        .withName("carp-agent-rbac-check")
                        .get()
                    != null);
    await()
        .atMost(WAIT)
        .until(
            () -> {
              VirtualAddress v =
                  admin.resources(VirtualAddress.class).withName("rbac-check-va").get();
              return v.getStatus() != null
                  && v.getStatus().getVhid() != null
                  && v.getStatus().getVhid() == 42;
            });
    await()
        .atMost(WAIT)
        .until(
            () ->
                admin.v1().events().inNamespace("default").list().getItems().stream()
                    .anyMatch(
                        e ->
                            "rbac-check-va".equals(e.getInvolvedObject().getName())
                                && "NoMaster".equals(e.getReason())));
    assertThat(
            admin
                .leases()
                .inNamespace("carp-system")
                .withName("carp-operator")
                .get()
                .getSpec()
                .getHolderIdentity())
        .isEqualTo("rbac-test");
  }

  /**
   * The agent renews its heartbeat Lease with its own Role, and the operator's Role reads it (the
   * operator's Lease informers list and watch them).
   */
  @Test
  void theAgentRenewsItsHeartbeatLeaseAndTheOperatorReadsIt() {
    try (NodeHeartbeat h = NodeHeartbeat.start(agentClient, "carp-agents", "rbac-node")) {
      await().atMost(WAIT).until(h::renewing);
    }
    assertThat(
            operatorClient
                .resources(Lease.class)
                .inNamespace("carp-agents")
                .withLabelSelector(AgentHeartbeats.LABEL_SELECTOR)
                .list()
                .getItems())
        .extracting(AgentHeartbeats::nodeOf)
        .contains("rbac-node");
    assertThatThrownBy(
            () ->
                agentClient
                    .resources(Lease.class)
                    .inNamespace("carp-system")
                    .withName("carp-agent-rbac-node")
                    .get())
        .as("only the agents' namespace")
        .isInstanceOf(KubernetesClientException.class);
  }

  @Test
  void theOperatorCannotReadSecrets() {
    for (String ns : List.of("carp-system", "carp-agents")) {
      assertThatThrownBy(() -> operatorClient.secrets().inNamespace(ns).list())
          .isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
    }
  }

  @Test
  void anAgentWritesItsStatusEntryButNotTheSpecNorOtherNamespacesSecrets() {
    VirtualAddress va =
        OperatorOnRealApiServerTest.address("rbac-agent-va", "rbac-check", 43, "192.0.2.43/24");
    admin.resource(va).create();

    VirtualAddress patch = new VirtualAddress();
    patch.setMetadata(new ObjectMetaBuilder().withName("rbac-agent-va").build());
    patch.setSpec(null);
    VirtualAddressStatus status = new VirtualAddressStatus();
    status.setConditions(null);
    NodeVhidStatus entry = new NodeVhidStatus();
    entry.setName("node-x");
    entry.setVhid(43);
    entry.setState(CarpState.BACKUP);
    status.setNodes(List.of(entry));
    patch.setStatus(status);
    agentClient
        .resources(VirtualAddress.class)
        .withName("rbac-agent-va")
        .subresource("status")
        .patch(
            new PatchContext.Builder()
                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                .withFieldManager("carp-agent-node-x")
                .withForce(true)
                .build(),
            patch);
    assertThat(
            admin
                .resources(VirtualAddress.class)
                .withName("rbac-agent-va")
                .get()
                .getStatus()
                .getNodes())
        .extracting(NodeVhidStatus::getName)
        .contains("node-x");

    assertThatThrownBy(
            () ->
                agentClient
                    .resources(VirtualAddress.class)
                    .withName("rbac-agent-va")
                    .edit(
                        v -> {
                          v.getSpec().setAdvskew(7);
                          return v;
                        }))
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
    assertThatThrownBy(() -> agentClient.secrets().inNamespace("default").list())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
    assertThatThrownBy(() -> agentClient.secrets().inNamespace("carp-system").list())
        .as("not the operator's namespace either")
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
    assertThat(agentClient.secrets().inNamespace("carp-agents").list().getItems()).isNotNull();
  }
}
