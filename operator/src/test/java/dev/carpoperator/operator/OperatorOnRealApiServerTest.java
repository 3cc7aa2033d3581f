package dev.carpoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterStatus;
import dev.carpoperator.api.v1alpha1.SyncMode;
import dev.carpoperator.api.v1alpha1.SyncSpec;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.operator.address.AddressStatusAggregator;
import dev.carpoperator.operator.cluster.AgentDaemonSets;
import dev.carpoperator.operator.cluster.ClusterStatusAggregator;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Crds;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
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
  static KubernetesClient operatorClient;

  /**
   * The writes (apply patches) of the DaemonSet of cluster "steady" the operator's client sends.
   */
  static final AtomicInteger daemonSetPatches = new AtomicInteger();

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
    operatorClient =
        new KubernetesClientBuilder()
            .withConfig(client.getConfiguration())
            .withHttpClientBuilderConsumer(
                b ->
                    b.addOrReplaceInterceptor(
                        "daemonset-patches",
                        new Interceptor() {
                          @Override
                          public void before(
                              BasicBuilder builder, HttpRequest request, RequestTags tags) {
                            if (request.method().equals("PATCH")
                                && request
                                    .uri()
                                    .getPath()
                                    .endsWith("/daemonsets/carp-agent-steady"))
                              daemonSetPatches.incrementAndGet();
                          }
                        }))
            .build();
    operator =
        OperatorMain.start(
            settings,
            metrics,
            o -> o.withKubernetesClient(operatorClient).withCloseClientOnStop(false));
    health = OperatorMain.serveHealth(operator, metrics, 0);
    applyDir(ControlPlaneBinaries.repositoryRoot().resolve("examples/active-standby"));
  }

  @AfterAll
  static void stop() {
    if (health != null) health.stop(0);
    if (operator != null) operator.stop();
    if (operatorClient != null) operatorClient.close();
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
    DaemonSet ds = awaitDaemonSet("carp-agent-mickey-minnie");
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
        .filteredOn(c -> c.getType().equals(CarpApi.CONDITION_READY))
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.getStatus()).isEqualTo("False");
              assertThat(c.getReason()).isEqualTo("NoNodesSelected");
            });
    // ...and Degraded says what to fix: no Node carries the label, or (when a test class before
    // this one created mickey and minnie) their agents do not report
    assertThat(fwc.getStatus().getConditions())
        .filteredOn(c -> c.getType().equals(CarpApi.CONDITION_DEGRADED))
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.getStatus()).isEqualTo("True");
              assertThat(c.getReason())
                  .isIn(
                      ClusterStatusAggregator.NO_NODES_SELECTED,
                      ClusterStatusAggregator.AGENTS_NOT_READY);
            });
  }

  /**
   * The cluster's status from the Nodes (an informer: a node labelled later joins at once) and the
   * agents' reports: per node agentReady, demotion and sync, and Degraded with what to fix.
   */
  @Test
  void theClusterStatusShowsEachNodesAgentDemotionAndSync() {
    String label = AgentDaemonSets.RECOMMENDED_NODE_LABEL;
    for (String n : List.of("status-a", "status-b")) node(n, label, "status-check");
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("status-check").build());
    fwc.getSpec().setNodeSelector(Map.of(label, "status-check"));
    SyncSpec sync = new SyncSpec();
    sync.setInterfaceName("eth2");
    sync.setMode(SyncMode.BSD_COMPATIBLE);
    fwc.getSpec().setSync(sync);
    client.resource(fwc).create();
    client.resource(address("status-check-lan", "status-check", 7, "198.51.100.7/24")).create();
    try {
      String now = java.time.Instant.now().toString();
      // a's agent reports, in sync; b's has not reported
      reportFully("status-check-lan", 7, "status-a", "MASTER", 0, now, "done");
      FirewallClusterStatus s =
          awaitCluster(
              "status-check",
              st ->
                  degraded(st)
                          .filter(
                              c -> c.getReason().equals(ClusterStatusAggregator.AGENTS_NOT_READY))
                          .isPresent()
                      && st.getNodes().size() == 2
                      && Boolean.TRUE.equals(st.getNodes().getFirst().getAgentReady()));
      assertThat(s.getNodes())
          .extracting(
              n ->
                  n.getName() + " " + n.getAgentReady() + " " + n.getDemotion() + " " + n.getSync())
          .containsExactly("status-a true 0 in-sync", "status-b false null null");
      assertThat(degraded(s).orElseThrow().getStatus()).isEqualTo("True");
      assertThat(degraded(s).orElseThrow().getMessage())
          .startsWith("status-b is selected but its agent has not reported");

      // b's agent reports, demoted and without the sync (e.g. its key Secret is missing)
      reportFully("status-check-lan", 7, "status-b", "BACKUP", 128, now, null);
      s =
          awaitCluster(
              "status-check",
              st ->
                  degraded(st)
                      .filter(c -> c.getReason().equals(ClusterStatusAggregator.SYNC_NOT_RUNNING))
                      .isPresent());
      assertThat(s.getNodes())
          .extracting(
              n ->
                  n.getName() + " " + n.getAgentReady() + " " + n.getDemotion() + " " + n.getSync())
          .containsExactly("status-a true 0 in-sync", "status-b true 128 disabled");
      assertThat(degraded(s).orElseThrow().getMessage())
          .startsWith("spec.sync is set but status-b runs without state sync");

      // it restarts with the sync: nothing left to fix
      reportFully(
          "status-check-lan",
          7,
          "status-b",
          "BACKUP",
          0,
          java.time.Instant.now().toString(),
          "timed_out");
      s =
          awaitCluster(
              "status-check",
              st -> degraded(st).filter(c -> c.getStatus().equals("False")).isPresent());
      assertThat(degraded(s).orElseThrow().getReason())
          .isEqualTo(ClusterStatusAggregator.AS_EXPECTED);
      assertThat(s.getNodes())
          .extracting(n -> n.getName() + " " + n.getSync())
          .containsExactly("status-a in-sync", "status-b behind");

      // a node labelled later is in the status without waiting for the periodic reconcile
      node("status-c", label, "status-check");
      await()
          .atMost(Duration.ofSeconds(15))
          .until(
              () ->
                  client
                      .resources(FirewallCluster.class)
                      .withName("status-check")
                      .get()
                      .getStatus()
                      .getNodes()
                      .stream()
                      .anyMatch(n -> n.getName().equals("status-c")));
    } finally {
      client.resources(VirtualAddress.class).withName("status-check-lan").delete();
      for (String n : List.of("status-a", "status-b", "status-c"))
        client.nodes().withName(n).delete();
      client.resource(fwc).delete();
    }
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

  /**
   * A reconcile that changes nothing in the agent DaemonSet sends no write: the operator used to
   * patch every DaemonSet on every reconcile (every 30 s and on each agent report), because the API
   * server defaults fieldRef.apiVersion and the desired object left it out.
   */
  @Test
  void theAgentDaemonSetIsPatchedOnlyWhenItChanges() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("steady").build());
    fwc.setSpec(new dev.carpoperator.api.v1alpha1.FirewallClusterSpec());
    fwc.getSpec().setNodeSelector(Map.of("node-restriction.kubernetes.io/carp-cluster", "steady"));
    client.resource(fwc).serverSideApply();
    awaitDaemonSet("carp-agent-steady");
    awaitReconciled("steady", 1);
    int before = daemonSetPatches.get();

    // preempt is not in the DaemonSet: the reconcile for generation 2 must not write it
    fwc.getSpec().setPreempt(true);
    client.resource(fwc).serverSideApply();
    awaitReconciled("steady", 2);
    assertThat(daemonSetPatches.get())
        .as("DaemonSet patches after a no-op reconcile")
        .isEqualTo(before);

    // a toleration is: that reconcile writes it (the counter sees the operator's patches)
    fwc.getSpec()
        .setTolerations(
            List.of(
                new io.fabric8.kubernetes.api.model.TolerationBuilder()
                    .withKey("example.com/firewall")
                    .withOperator("Exists")
                    .build()));
    client.resource(fwc).serverSideApply();
    awaitReconciled("steady", 3);
    assertThat(daemonSetPatches.get()).isGreaterThan(before);
    assertThat(
            client
                .apps()
                .daemonSets()
                .inNamespace("carp-agents")
                .withName("carp-agent-steady")
                .get()
                .getSpec()
                .getTemplate()
                .getSpec()
                .getTolerations())
        .singleElement()
        .satisfies(t -> assertThat(t.getKey()).isEqualTo("example.com/firewall"));
    client.resource(fwc).delete();
  }

  static DaemonSet awaitDaemonSet(String name) {
    return await()
        .atMost(WAIT)
        .until(
            () -> client.apps().daemonSets().inNamespace("carp-agents").withName(name).get(),
            d -> d != null);
  }

  static void awaitReconciled(String cluster, long generation) {
    await()
        .atMost(WAIT)
        .until(
            () -> client.resources(FirewallCluster.class).withName(cluster).get(),
            f ->
                f.getStatus() != null
                    && f.getStatus().getObservedGeneration() != null
                    && f.getStatus().getObservedGeneration() >= generation);
  }

  static void node(String name, String label, String value) {
    client
        .nodes()
        .resource(
            new io.fabric8.kubernetes.api.model.NodeBuilder()
                .withNewMetadata()
                .withName(name)
                .addToLabels(label, value)
                .endMetadata()
                .build())
        .serverSideApply();
  }

  /**
   * What an agent writes: its entry with demotion, since, lastReport and the sync's bulk state
   * (null: runs without sync).
   */
  static void reportFully(
      String va, int vhid, String node, String state, int demotion, String at, String sync) {
    Map<String, Object> entry = new java.util.LinkedHashMap<>();
    entry.put("name", node);
    entry.put("vhid", vhid);
    entry.put("state", state);
    entry.put("demotion", demotion);
    entry.put("since", at);
    entry.put("lastReport", at);
    if (sync != null) entry.put("sync", sync);
    String patch =
        client
            .getKubernetesSerialization()
            .asJson(
                Map.of(
                    "apiVersion",
                    CarpApi.API_VERSION,
                    "kind",
                    "VirtualAddress",
                    "metadata",
                    Map.of("name", va),
                    "status",
                    Map.of("nodes", List.of(entry))));
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

  static FirewallClusterStatus awaitCluster(
      String name, java.util.function.Predicate<FirewallClusterStatus> condition) {
    return await()
        .atMost(WAIT)
        .until(
            () -> client.resources(FirewallCluster.class).withName(name).get(),
            f -> f != null && f.getStatus() != null && condition.test(f.getStatus()))
        .getStatus();
  }

  static java.util.Optional<Condition> degraded(FirewallClusterStatus s) {
    return s.getConditions().stream()
        .filter(c -> CarpApi.CONDITION_DEGRADED.equals(c.getType()))
        .findFirst();
  }

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
    AgentStatusWrites.report(client, va, vhid, node, state);
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
