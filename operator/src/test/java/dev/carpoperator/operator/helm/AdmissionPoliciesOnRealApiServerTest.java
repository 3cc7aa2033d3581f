package dev.carpoperator.operator.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carpoperator.agent.kube.NodeHeartbeat;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.NotificationsSpec;
import dev.carpoperator.api.v1alpha1.SyncSpec;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.Crds;
import dev.carpoperator.testing.kube.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's ValidatingAdmissionPolicies on a real kube-apiserver: an agent's pod-bound token may
 * change only its own node's status entries, and the optional resource limits refuse what they
 * should with a message that says which chart value decides. The release has a namespace of its
 * own, so the agent policy matches no other test's agents; everything cluster-scoped it adds is
 * removed afterwards.
 */
class AdmissionPoliciesOnRealApiServerTest {
  static final String NS = "carp-policy-test";
  static final Duration WAIT = Duration.ofSeconds(30);
  @TempDir static Path home;
  static KubernetesClient admin;
  static final List<HasMetadata> created = new ArrayList<>();

  @BeforeAll
  static void install() {
    admin = ControlPlane.shared().adminClient();
    Crds.install(admin);
    admin
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
        .serverSideApply();
    Helm helm = new Helm(home, null);
    List<JsonNode> objects =
        Helm.documents(
            helm.ok(
                "template",
                "carp",
                Helm.chart().toString(),
                "--namespace",
                NS,
                "--set",
                "agent.namespace=" + NS,
                "--set",
                "agent.createNamespace=false",
                "--set",
                "admissionPolicies.resources.enabled=true",
                "--set",
                "admissionPolicies.resources.allowedInterfaces={lan0,pfsync0}",
                "--set",
                "admissionPolicies.resources.allowedPrefixes={192.0.2.0/24,2001:db8::/64}",
                "--set",
                "admissionPolicies.resources.allowedWebhookHosts={hooks.example}"));
    for (JsonNode o : objects) {
      String kind = o.path("kind").asText();
      if (kind.startsWith("ValidatingAdmissionPolicy")) created.add(apply(o));
      // the agents' ClusterRole as the chart has it (identical to the one other tests apply from
      // deploy/rbac)
      if (kind.equals("ClusterRole")
          && o.path("metadata").path("name").asText().equals("carp-agent")) apply(o);
      // and its heartbeat Role in the agents' namespace
      if ((kind.equals("Role") || kind.equals("RoleBinding"))
          && o.path("metadata").path("name").asText().equals("carp-agent-heartbeat"))
        created.add(apply(o));
    }
    created.add(
        admin
            .resource(
                new ClusterRoleBindingBuilder()
                    .withNewMetadata()
                    .withName(NS + "-agent")
                    .endMetadata()
                    .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", "carp-agent")
                    .addNewSubject()
                    .withKind("ServiceAccount")
                    .withName("carp-agent")
                    .withNamespace(NS)
                    .endSubject()
                    .build())
            .serverSideApply());
    admin
        .resource(
            new ServiceAccountBuilder()
                .withNewMetadata()
                .withName("carp-agent")
                .withNamespace(NS)
                .endMetadata()
                .build())
        .serverSideApply();
    for (String node : List.of("policy-node-a", "policy-node-b")) {
      created.add(
          admin
              .resource(new NodeBuilder().withNewMetadata().withName(node).endMetadata().build())
              .serverSideApply());
    }
  }

  @AfterAll
  static void remove() {
    if (admin == null) return;
    admin.resources(VirtualAddress.class).withName("policy-status").delete();
    for (HasMetadata o : created.reversed()) admin.resource(o).delete();
    admin.namespaces().withName(NS).delete();
  }

  private static HasMetadata apply(JsonNode o) {
    HasMetadata item = Serialization.unmarshal(o.toString());
    return admin.resource(item).forceConflicts().serverSideApply();
  }

  @Test
  void anAgentChangesOnlyItsOwnNodesStatusEntries() {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName("policy-status").build());
    va.getSpec().setCluster("c1");
    va.getSpec().setVhid(9);
    va.getSpec().setInterfaceName("lan0");
    va.getSpec().setAddresses(List.of("192.0.2.10/24"));
    admin.resource(va).create();
    applyEntry(admin, "policy-node-a", CarpState.BACKUP);
    applyEntry(admin, "policy-node-b", CarpState.MASTER);
    VirtualAddressStatus vhidOnly = new VirtualAddressStatus();
    vhidOnly.setVhid(9);
    vhidOnly.setNodes(null);
    patchStatus(admin, "carp-operator", vhidOnly);

    try (KubernetesClient agentA = clientWithToken(podBoundToken("policy-node-a"));
        KubernetesClient unbound = clientWithToken(unboundToken())) {
      // Until the policy is loaded by the API server, a write to node b's entry passes: wait for
      // the refusal, then check
      // everything else against a policy known to be in force. Each probe writes another advskew,
      // so that no probe
      // is a no-op (an unchanged object passes the policy), and leaves node b's state as it is.
      java.util.concurrent.atomic.AtomicInteger probe =
          new java.util.concurrent.atomic.AtomicInteger();
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(250))
          .alias("the policy to refuse a write to node b's entry")
          .conditionEvaluationListener(
              c -> {
                if (c.getRemainingTimeInMS() <= 250)
                  System.out.println("last outcome: " + lastOutcome);
              })
          .until(
              () ->
                  refused(
                      () ->
                          applyEntry(
                              agentA, "policy-node-b", CarpState.MASTER, probe.incrementAndGet())));

      applyEntry(agentA, "policy-node-a", CarpState.MASTER); // its own entry: allowed
      assertThat(entries())
          .containsEntry("policy-node-a", CarpState.MASTER)
          .containsEntry("policy-node-b", CarpState.MASTER);

      assertThatThrownBy(() -> applyEntry(agentA, "policy-node-b", CarpState.BACKUP))
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining(
              "an agent may change only the status.nodes entries of its own node (policy-node-a)");
      VirtualAddressStatus otherVhid = new VirtualAddressStatus();
      otherVhid.setVhid(200);
      otherVhid.setNodes(null);
      assertThatThrownBy(() -> patchStatus(agentA, "carp-agent-policy-node-a", otherVhid))
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining("an agent may change only status.nodes");
      assertThatThrownBy(() -> applyEntry(unbound, "policy-node-a", CarpState.BACKUP))
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining("must be bound to a pod on a node");
      assertThat(entries()).containsEntry("policy-node-b", CarpState.MASTER);
      assertThat(
              admin
                  .resources(VirtualAddress.class)
                  .withName("policy-status")
                  .get()
                  .getStatus()
                  .getVhid())
          .isEqualTo(9);
    }
  }

  /** An agent may renew only its own node's heartbeat Lease, held by its node. */
  @Test
  void anAgentRenewsOnlyItsOwnNodesHeartbeatLease() {
    try (KubernetesClient agentA = clientWithToken(podBoundToken("policy-node-a"));
        KubernetesClient unbound = clientWithToken(unboundToken())) {
      // Until the policy is in force, a Lease for node b passes: wait for the refusal first.
      java.util.concurrent.atomic.AtomicInteger probe =
          new java.util.concurrent.atomic.AtomicInteger();
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(250))
          .alias("the policy to refuse node b's Lease")
          .until(
              () ->
                  refused(
                      () ->
                          agentA
                              .resource(
                                  lease(
                                      "carp-agent-policy-node-b-" + probe.incrementAndGet(),
                                      "policy-node-b"))
                              .create()));
      assertThatThrownBy(
              () -> agentA.resource(lease("carp-agent-policy-node-b", "policy-node-b")).create())
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining(
              "an agent may renew only the heartbeat Lease of its own node (carp-agent-policy-node-a)");
      assertThatThrownBy(
              () -> agentA.resource(lease("carp-agent-policy-node-a", "policy-node-b")).create())
          .as("its own Lease, but held by another node")
          .isInstanceOf(KubernetesClientException.class);
      assertThatThrownBy(
              () -> unbound.resource(lease("carp-agent-policy-node-a", "policy-node-a")).create())
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining("must be bound to a pod on a node");

      // Its own, as NodeHeartbeat writes it: created, then renewed by a merge patch.
      try (NodeHeartbeat h = NodeHeartbeat.start(agentA, NS, "policy-node-a")) {
        await().atMost(WAIT).until(h::renewing);
      }
      assertThat(
              admin
                  .resources(Lease.class)
                  .inNamespace(NS)
                  .withName("carp-agent-policy-node-a")
                  .get()
                  .getSpec()
                  .getHolderIdentity())
          .isEqualTo("policy-node-a");
    }
  }

  private static Lease lease(String name, String holder) {
    return new LeaseBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(NS)
        .endMetadata()
        .withNewSpec()
        .withHolderIdentity(holder)
        .withLeaseDurationSeconds(40)
        .endSpec()
        .build();
  }

  @Test
  void theResourceLimitsRefuseWhatTheChartValuesDoNotAllow() {
    VirtualAddress outside = address("policy-outside", "lan0", "198.51.100.10/24");
    // a probe that gets through before the policy is loaded is removed again, so the next one is a
    // create too
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(250))
        .until(
            () ->
                refused(
                    () -> {
                      admin.resource(outside).create();
                      admin.resource(outside).withGracePeriod(0).delete();
                      admin
                          .resources(VirtualAddress.class)
                          .withName("policy-outside")
                          .waitUntilCondition(
                              java.util.Objects::isNull, 10, java.util.concurrent.TimeUnit.SECONDS);
                    }));
    assertThatThrownBy(() -> admin.resource(outside).create())
        .hasMessageContaining("every address must lie in one of 192.0.2.0/24, 2001:db8::/64")
        .hasMessageContaining("admissionPolicies.resources.allowedPrefixes");
    assertThatThrownBy(
            () -> admin.resource(address("policy-eth9", "eth9", "192.0.2.11/24")).create())
        .hasMessageContaining(
            "spec.interface eth9 is not one of the allowed interfaces lan0, pfsync0");
    assertThatThrownBy(
            () -> admin.resource(address("policy-no-interface", null, "192.0.2.12/24")).create())
        .hasMessageContaining("spec.interface is required");
    VirtualAddress inside =
        admin.resource(address("policy-inside", "lan0", "192.0.2.13/24")).create();
    VirtualAddress inside6 =
        admin.resource(address("policy-inside6", "lan0", "2001:db8::13/64")).create();
    admin.resource(inside).delete();
    admin.resource(inside6).delete();

    FirewallCluster badWebhook = cluster("policy-webhook", "pfsync0", "https://evil.example/x");
    assertThatThrownBy(() -> admin.resource(badWebhook).create())
        .hasMessageContaining("the webhook host must be one of hooks.example");
    FirewallCluster badSync = cluster("policy-sync", "eth9", "https://hooks.example/x");
    assertThatThrownBy(() -> admin.resource(badSync).create())
        .hasMessageContaining(
            "the sync interface and the actions may name only the interfaces lan0, pfsync0");
    FirewallCluster good =
        admin
            .resource(cluster("policy-good", "pfsync0", "https://hooks.example/x?token=t"))
            .create();
    admin.resource(good).delete();
  }

  private static VirtualAddress address(String name, String nic, String cidr) {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName(name).build());
    va.getSpec().setCluster("c1");
    va.getSpec().setInterfaceName(nic);
    va.getSpec().setAddresses(List.of(cidr));
    return va;
  }

  private static FirewallCluster cluster(String name, String syncNic, String webhookUrl) {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName(name).build());
    SyncSpec sync = new SyncSpec();
    sync.setInterfaceName(syncNic);
    sync.setMode(dev.carpoperator.api.v1alpha1.SyncMode.BSD_COMPATIBLE);
    fwc.getSpec().setSync(sync);
    NotificationsSpec notifications = new NotificationsSpec();
    NotificationsSpec.Webhook hook = new NotificationsSpec.Webhook();
    hook.setUrl(webhookUrl);
    notifications.setWebhook(hook);
    fwc.getSpec().setNotifications(notifications);
    return fwc;
  }

  /** What the last {@link #refused} call saw, for the failure message of an await. */
  static volatile String lastOutcome = "";

  private static boolean refused(Runnable request) {
    try {
      request.run();
      lastOutcome = "accepted";
      return false;
    } catch (KubernetesClientException e) {
      lastOutcome = e.getCode() + " " + e.getMessage();
      return e.getCode() == 403 || e.getCode() == 422;
    }
  }

  private static Map<String, CarpState> entries() {
    var status = admin.resources(VirtualAddress.class).withName("policy-status").get().getStatus();
    Map<String, CarpState> out = new java.util.HashMap<>();
    for (NodeVhidStatus n : status.getNodes()) out.put(n.getName(), n.getState());
    return out;
  }

  /** What an agent does: server-side apply of its node's entry, with a field manager of its own. */
  private static void applyEntry(KubernetesClient client, String node, CarpState state) {
    applyEntry(client, node, state, 0);
  }

  private static void applyEntry(
      KubernetesClient client, String node, CarpState state, int advskew) {
    VirtualAddressStatus status = new VirtualAddressStatus();
    NodeVhidStatus entry = new NodeVhidStatus();
    entry.setName(node);
    entry.setVhid(9);
    entry.setState(state);
    entry.setAdvskew(advskew);
    status.setNodes(List.of(entry));
    patchStatus(client, "carp-agent-" + node, status);
  }

  private static void patchStatus(
      KubernetesClient client, String manager, VirtualAddressStatus status) {
    VirtualAddress patch = new VirtualAddress();
    patch.setMetadata(new ObjectMetaBuilder().withName("policy-status").build());
    patch.setSpec(null);
    patch.setStatus(status);
    client
        .resources(VirtualAddress.class)
        .withName("policy-status")
        .subresource("status")
        .patch(
            new PatchContext.Builder()
                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                .withFieldManager(manager)
                .withForce(true)
                .build(),
            patch);
  }

  /**
   * A token bound to a pod on the node, as the kubelet mounts it into an agent pod (it carries the
   * node's name).
   */
  private static String podBoundToken(String node) {
    Pod pod =
        admin
            .resource(
                new PodBuilder()
                    .withNewMetadata()
                    .withName("agent-" + node)
                    .withNamespace(NS)
                    .endMetadata()
                    .withNewSpec()
                    .withNodeName(node)
                    .withServiceAccountName("carp-agent")
                    .addNewContainer()
                    .withName("agent")
                    .withImage("example/carp-agent:test")
                    .endContainer()
                    .endSpec()
                    .build())
            .serverSideApply();
    TokenRequest request =
        new TokenRequestBuilder()
            .withNewSpec()
            .withExpirationSeconds(600L)
            .withNewBoundObjectRef()
            .withApiVersion("v1")
            .withKind("Pod")
            .withName(pod.getMetadata().getName())
            .withUid(pod.getMetadata().getUid())
            .endBoundObjectRef()
            .endSpec()
            .build();
    return admin
        .serviceAccounts()
        .inNamespace(NS)
        .withName("carp-agent")
        .tokenRequest(request)
        .getStatus()
        .getToken();
  }

  private static String unboundToken() {
    TokenRequest request =
        new TokenRequestBuilder().withNewSpec().withExpirationSeconds(600L).endSpec().build();
    return admin
        .serviceAccounts()
        .inNamespace(NS)
        .withName("carp-agent")
        .tokenRequest(request)
        .getStatus()
        .getToken();
  }

  private static KubernetesClient clientWithToken(String token) {
    return new KubernetesClientBuilder().withConfig(ControlPlane.shared().config(token)).build();
  }
}
