package dev.carpoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.operator.address.AddressStatusAggregator;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Crds;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The operator in-process against a real kube-apiserver. The agents' Kubernetes mode is not built
 * yet, so this test writes the agents' status entries itself, exactly as agents are to write them:
 * server-side apply of one {@code status.nodes} entry per node, each with its own field manager.
 */
class OperatorOnRealApiServerTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static KubernetesClient client;
  static Operator operator;
  static OperatorMetrics metrics = new OperatorMetrics();
  static com.sun.net.httpserver.HttpServer health;

  @BeforeAll
  static void startOperator() throws IOException {
    client = ControlPlane.shared().adminClient();
    Crds.install(client);
    for (String ns : List.of("carp-system", "carp-agents")) {
      client
          .namespaces()
          .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .serverSideApply();
    }
    OperatorSettings settings =
        new OperatorSettings(
            "carp-system",
            "carp-agents",
            "example/carp-agent:test",
            "IfNotPresent",
            false,
            "test",
            0,
            false);
    operator =
        OperatorMain.start(
            settings, metrics, o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    health = OperatorMain.serveHealth(operator, metrics, 0);
    applyDir(ControlPlaneBinaries.repositoryRoot().resolve("examples/active-standby"));
  }

  @AfterAll
  static void stop() {
    if (health != null) health.stop(0);
    if (operator != null) operator.stop();
    if (client != null) client.close();
  }

  static void applyDir(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        try (InputStream in = Files.newInputStream(f)) {
          for (HasMetadata item : client.load(in).items())
            client.resource(item).forceConflicts().serverSideApply();
        }
      }
    }
  }

  @Test
  void eachFirewallClusterGetsAnAgentDaemonSet() {
    DaemonSet ds =
        await()
            .atMost(WAIT)
            .until(
                () ->
                    client
                        .apps()
                        .daemonSets()
                        .inNamespace("carp-agents")
                        .withName("carp-agent-mickey-minnie")
                        .get(),
                d -> d != null);
    var pod = ds.getSpec().getTemplate().getSpec();
    assertThat(pod.getHostNetwork()).isTrue();
    assertThat(pod.getNodeSelector())
        .containsEntry("node-restriction.kubernetes.io/carp-cluster", "mickey-minnie");
    var container = pod.getContainers().getFirst();
    assertThat(container.getSecurityContext().getCapabilities().getAdd())
        .containsExactlyInAnyOrder("NET_ADMIN", "NET_RAW");
    assertThat(container.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(container.getSecurityContext().getSeccompProfile().getType())
        .isEqualTo("RuntimeDefault");
    assertThat(container.getImage()).isEqualTo("example/carp-agent:test");
    assertThat(container.getEnv())
        .anySatisfy(
            e -> {
              assertThat(e.getName()).isEqualTo("NODE_NAME");
              assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
            });
    assertThat(container.getEnv())
        .as("metrics and probes on the node's own address, not on every address of the host")
        .anySatisfy(
            e -> {
              assertThat(e.getName()).isEqualTo("CARP_METRICS_ADDRESS");
              assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.hostIP");
            });
    assertThat(ds.getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getIntVal())
        .isEqualTo(1);
    // the agents' address record, on the host (accepted by the API server's validation)
    assertThat(pod.getVolumes())
        .singleElement()
        .satisfies(v -> assertThat(v.getHostPath().getPath()).isEqualTo("/run/carp-operator"));
    assertThat(container.getVolumeMounts())
        .singleElement()
        .satisfies(m -> assertThat(m.getMountPath()).isEqualTo("/run/carp-operator"));
    assertThat(ds.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(o -> assertThat(o.getKind()).isEqualTo("FirewallCluster"));

    // No kubelet runs here, so nothing is scheduled: the status must say why the cluster is not
    // ready.
    FirewallCluster fwc =
        await()
            .atMost(WAIT)
            .until(
                () -> client.resources(FirewallCluster.class).withName("mickey-minnie").get(),
                f -> f.getStatus() != null && !f.getStatus().getConditions().isEmpty());
    assertThat(fwc.getStatus().getConditions())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.getType()).isEqualTo(CarpApi.CONDITION_READY);
              assertThat(c.getStatus()).isEqualTo("False");
              assertThat(c.getReason()).isEqualTo("NoNodesSelected");
            });
  }

  /**
   * Whoever may create a FirewallCluster must not choose what runs privileged on the nodes:
   * spec.agent.image is ignored with a Warning Event; a nodeSelector a kubelet could set on its own
   * Node gets a Warning Event too.
   */
  @Test
  void theAgentImageIsTheOperatorsAndRiskySelectorsAreWarnedAbout() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(
        new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("image-override").build());
    fwc.getSpec().getAgent().setImage("attacker.example/rootkit:1");
    fwc.getSpec().setNodeSelector(java.util.Map.of("firewall", "true"));
    client.resource(fwc).create();
    try {
      DaemonSet ds =
          await()
              .atMost(WAIT)
              .until(
                  () ->
                      client
                          .apps()
                          .daemonSets()
                          .inNamespace("carp-agents")
                          .withName("carp-agent-image-override")
                          .get(),
                  d -> d != null);
      assertThat(ds.getSpec().getTemplate().getSpec().getContainers().getFirst().getImage())
          .isEqualTo("example/carp-agent:test");
      await()
          .atMost(WAIT)
          .until(
              () ->
                  events("image-override").stream()
                      .anyMatch(
                          e ->
                              e.startsWith("Warning AgentImageIgnored")
                                  && e.contains("attacker.example/rootkit:1")
                                  && e.contains("example/carp-agent:test")));
      await()
          .atMost(WAIT)
          .until(
              () ->
                  events("image-override").stream()
                      .anyMatch(
                          e ->
                              e.startsWith("Warning NodeSelectorSelfAssignable")
                                  && e.contains("firewall")
                                  && e.contains("node-restriction.kubernetes.io/carp-cluster")));
      // the example's selector is under node-restriction.kubernetes.io/: no warning there
      assertThat(events("mickey-minnie")).noneMatch(e -> e.contains("NodeSelectorSelfAssignable"));
    } finally {
      client.resource(fwc).delete();
    }
  }

  @Test
  void statusFollowsTheAgentsFailoverAndSplitBrain() {
    String va = "mickey-minnie-lan";
    report(va, 1, "mickey", CarpState.MASTER);
    report(va, 1, "minnie", CarpState.BACKUP);
    VirtualAddress ready =
        awaitStatus(
            va,
            s ->
                "mickey".equals(s.getMaster())
                    && condition(s, CarpApi.CONDITION_READY).equals("True"));
    assertThat(ready.getStatus().getVhid()).isEqualTo(1);
    assertThat(ready.getStatus().getNodes())
        .as("the operator keeps the agents' entries")
        .hasSize(2);
    String table = ControlPlane.shared().kubectl("get", "va", va);
    assertThat(table).containsPattern(va + "\\s+1\\s+\\S+\\s+mickey\\s+True");

    report(va, 1, "mickey", CarpState.BACKUP);
    report(va, 1, "minnie", CarpState.MASTER);
    VirtualAddress failedOver = awaitStatus(va, s -> "minnie".equals(s.getMaster()));
    assertThat(failedOver.getStatus().getFailoverCount()).isEqualTo(1);
    await()
        .atMost(WAIT)
        .until(
            () ->
                events(va).stream()
                    .anyMatch(
                        e -> e.contains("MasterChanged") && e.contains("from mickey to minnie")));

    report(va, 1, "mickey", CarpState.MASTER); // both MASTER: split brain
    VirtualAddress split =
        awaitStatus(va, s -> condition(s, CarpApi.CONDITION_READY).equals("False"));
    Condition degraded =
        split.getStatus().getConditions().stream()
            .filter(c -> c.getType().equals(CarpApi.CONDITION_DEGRADED))
            .findFirst()
            .orElseThrow();
    assertThat(degraded.getStatus()).isEqualTo("True");
    assertThat(degraded.getReason()).isEqualTo(AddressStatusAggregator.MULTIPLE_MASTERS);
    assertThat(degraded.getMessage()).contains("mickey and minnie are all MASTER of vhid 1");
    await()
        .atMost(WAIT)
        .until(() -> events(va).stream().anyMatch(e -> e.startsWith("Warning MultipleMasters")));
  }

  @Test
  void vhidsAreAllocatedWithoutCollisionAndCollisionsAreReported() {
    VirtualAddress a = address("alloc-a", "mickey-minnie", null, "203.0.113.1/24");
    VirtualAddress b = address("alloc-b", "mickey-minnie", null, "203.0.113.2/24");
    client.resource(a).create();
    client.resource(b).create();
    int va = awaitStatus("alloc-a", s -> s.getVhid() != null).getStatus().getVhid();
    int vb = awaitStatus("alloc-b", s -> s.getVhid() != null).getStatus().getVhid();
    assertThat(va).isNotEqualTo(vb).as("the examples use vhids 1 and 2").isNotIn(1, 2);
    assertThat(vb).isNotIn(1, 2);

    client.resource(address("collides", "mickey-minnie", 1, "203.0.113.3/24")).create();
    VirtualAddress collides =
        awaitStatus("collides", s -> condition(s, CarpApi.CONDITION_DEGRADED).equals("True"));
    assertThat(collides.getStatus().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getReason()).isEqualTo(AddressStatusAggregator.VHID_COLLISION);
              assertThat(c.getMessage()).contains("vhid 1");
            });
  }

  @Test
  void anAddressOfAMissingClusterIsDegradedWithTheReason() {
    client.resource(address("orphan", "no-such-cluster", 9, "198.51.100.9/24")).create();
    VirtualAddress orphan =
        awaitStatus("orphan", s -> condition(s, CarpApi.CONDITION_DEGRADED).equals("True"));
    assertThat(orphan.getStatus().getConditions())
        .anySatisfy(
            c -> {
              assertThat(c.getReason()).isEqualTo(AddressStatusAggregator.CLUSTER_NOT_FOUND);
              assertThat(c.getMessage())
                  .isEqualTo("FirewallCluster no-such-cluster does not exist");
            });
    // it has no passwordSecretRef either: an all-zero key is allowed (as on OpenBSD) but said once,
    // not every reconcile
    await()
        .atMost(WAIT)
        .until(
            () ->
                events("orphan").stream()
                    .anyMatch(
                        e -> e.startsWith("Warning NoPassword") && e.contains("all-zero key")));
    report("orphan", 9, "mickey", CarpState.MASTER); // more reconciles of the same generation
    awaitStatus("orphan", s -> s.getNodes().size() == 1);
    assertThat(events("orphan").stream().filter(e -> e.contains("NoPassword"))).hasSize(1);
    assertThat(events("mickey-minnie-lan"))
        .as("the example names its Secret")
        .noneMatch(e -> e.contains("NoPassword"));
  }

  @Test
  void healthAndMetricsEndpointsServeWhatUsersScrape() throws Exception {
    client.resource(address("metrics-check", "no-cluster-either", 11, "198.51.100.11/24")).create();
    var http = java.net.http.HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + health.getAddress().getPort();
    assertThat(
            http.send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/healthz"))
                        .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString())
                .statusCode())
        .isEqualTo(200);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              String body =
                  http.send(
                          java.net.http.HttpRequest.newBuilder(
                                  java.net.URI.create(base + "/metrics"))
                              .build(),
                          java.net.http.HttpResponse.BodyHandlers.ofString())
                      .body();
              assertThat(body)
                  .contains("operator_sdk_reconciliations_started_total")
                  .containsPattern(
                      "carp_operator_events_total\\{reason=\"ClusterNotFound\",type=\"Warning\"} [1-9]");
            });
  }

  // ------------------------------------------------------------------ helpers

  static VirtualAddress address(String name, String cluster, Integer vhid, String cidr) {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName(name).build());
    va.getSpec().setCluster(cluster);
    va.getSpec().setVhid(vhid);
    va.getSpec().setAddresses(List.of(cidr));
    return va;
  }

  /** What an agent does: apply its own entry with its own field manager. */
  static void report(String va, int vhid, String node, CarpState state) {
    VirtualAddress patch = new VirtualAddress();
    patch.setMetadata(new ObjectMetaBuilder().withName(va).build());
    patch.setSpec(null);
    VirtualAddressStatus status = new VirtualAddressStatus();
    status.setConditions(null);
    NodeVhidStatus entry = new NodeVhidStatus();
    entry.setName(node);
    entry.setVhid(vhid);
    entry.setState(state);
    status.setNodes(List.of(entry));
    patch.setStatus(status);
    client
        .resources(VirtualAddress.class)
        .withName(va)
        .subresource("status")
        .patch(
            new PatchContext.Builder()
                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                .withFieldManager("carp-agent-" + node)
                .withForce(true)
                .build(),
            patch);
  }

  static VirtualAddress awaitStatus(
      String name, java.util.function.Predicate<VirtualAddressStatus> condition) {
    return await()
        .atMost(WAIT)
        .until(
            () -> client.resources(VirtualAddress.class).withName(name).get(),
            v -> v != null && v.getStatus() != null && condition.test(v.getStatus()));
  }

  static String condition(VirtualAddressStatus s, String type) {
    return s.getConditions() == null
        ? ""
        : s.getConditions().stream()
            .filter(c -> type.equals(c.getType()))
            .map(Condition::getStatus)
            .findFirst()
            .orElse("");
  }

  static List<String> events(String va) {
    return client.v1().events().inNamespace("default").list().getItems().stream()
        .filter(e -> va.equals(e.getInvolvedObject().getName()))
        .map(e -> e.getType() + " " + e.getReason() + " " + e.getMessage())
        .toList();
  }
}
