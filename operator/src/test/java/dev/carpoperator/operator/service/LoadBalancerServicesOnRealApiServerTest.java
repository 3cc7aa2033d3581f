package dev.carpoperator.operator.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.api.v1alpha1.AddressPool;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.LoadBalancing;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.AgentStatusWrites;
import dev.carpoperator.operator.OperatorMain;
import dev.carpoperator.operator.OperatorMetrics;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.Crds;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The operator in-process against a real kube-apiserver serving LoadBalancer Services from an
 * AddressPool. No agent runs here (no nodes): where a master is needed, the test writes the agent's
 * status entry itself, as agents write it (server-side apply with the agent's field manager). The
 * lab's end-to-end test (LabStoryTest) runs the real agents and kube-proxy.
 */
class LoadBalancerServicesOnRealApiServerTest {
  static final Duration WAIT = Duration.ofSeconds(30);
  static final String NS = "lb-shop";
  static final String CLUSTER = "lb-edge";
  static final String NODE = "lb-node-a";
  static KubernetesClient client;
  static Operator operator;

  @BeforeAll
  static void start() {
    client = ControlPlane.shared().adminClient();
    Crds.install(client);
    for (String ns : List.of("carp-system", "carp-agents", NS)) {
      client
          .namespaces()
          .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .serverSideApply();
    }
    operator =
        OperatorMain.start(
            new OperatorSettings(
                "carp-system",
                "carp-agents",
                "example/carp-agent:test",
                "IfNotPresent",
                false,
                "test",
                0,
                false),
            new OperatorMetrics(),
            o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    client
        .nodes()
        .resource(
            new NodeBuilder()
                .withNewMetadata()
                .withName(NODE)
                .addToLabels("carp-lb-test", "yes")
                .endMetadata()
                .build())
        .serverSideApply();
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName(CLUSTER).build());
    fwc.getSpec().setNodeSelector(Map.of("carp-lb-test", "yes"));
    client.resource(fwc).serverSideApply();
    pool("lb-lan", List.of("192.0.2.200-192.0.2.201"), true);
    pool("lb-reserved", List.of("192.0.2.210/31"), false);
  }

  @AfterAll
  static void stop() {
    if (operator != null) operator.stop();
  }

  @Test
  void aServiceGetsAPoolAddressAndItsIngressOnceAMasterHoldsIt() {
    Service svc = client.resource(service("web", 80, Map.of())).create();
    VirtualAddress va = awaitAddressOf(svc);
    assertThat(va.getSpec().getAddresses()).containsExactly("192.0.2.200/32");
    assertThat(va.getSpec().getCluster()).isEqualTo(CLUSTER);
    assertThat(va.getMetadata().getLabels())
        .containsEntry(LoadBalancing.LABEL_POOL, "lb-lan")
        .containsEntry(LoadBalancing.LABEL_LOAD_BALANCER, "true");
    Condition waiting = awaitCondition("web", c -> "NoMaster".equals(c.getReason()));
    assertThat(waiting.getStatus()).isEqualTo("False");
    assertThat(fetch("web").getStatus().getLoadBalancer().getIngress()).isNullOrEmpty();
    assertThat(fetch("web").getMetadata().getFinalizers()).contains(LoadBalancing.FINALIZER);
    assertThat(events("web"))
        .anyMatch(e -> e.contains("AddressAssigned") && e.contains("192.0.2.200"));

    // What the node's agent writes when it becomes master (no agent runs here).
    int vhid =
        await()
            .atMost(WAIT)
            .until(() -> vhidOf(va.getMetadata().getName()), Optional::isPresent)
            .orElseThrow();
    AgentStatusWrites.report(client, va.getMetadata().getName(), vhid, NODE, CarpState.MASTER);
    Condition held = awaitCondition("web", c -> "True".equals(c.getStatus()));
    assertThat(held.getMessage()).contains(NODE);
    assertThat(fetch("web").getStatus().getLoadBalancer().getIngress())
        .extracting(i -> i.getIp())
        .containsExactly("192.0.2.200");

    client.resource(fetch("web")).delete();
    await().atMost(WAIT).until(() -> fetchOrNull("web") == null);
    await()
        .atMost(WAIT)
        .until(
            () ->
                client.resources(VirtualAddress.class).withName(va.getMetadata().getName()).get()
                    == null);
  }

  @Test
  void wrongRequestsGiveEventsAndConditionsAndLoseNothing() {
    client.resource(service("first", 80, Map.of())).create();
    VirtualAddress first = awaitAddressOf(fetch("first"));
    String taken = first.getSpec().getAddresses().getFirst().replace("/32", "");

    client.resource(service("clash", 81, Map.of(LoadBalancing.ANNOTATION_IPS, taken))).create();
    Condition inUse = awaitCondition("clash", c -> "AddressInUse".equals(c.getReason()));
    assertThat(inUse.getMessage()).contains(NS + "/first");
    client
        .resource(service("outside", 80, Map.of(LoadBalancing.ANNOTATION_IPS, "192.0.2.99")))
        .create();
    awaitCondition("outside", c -> "AddressNotInPool".equals(c.getReason()));
    client.resource(service("nopool", 80, Map.of(LoadBalancing.ANNOTATION_POOL, "nope"))).create();
    awaitCondition("nopool", c -> "PoolNotFound".equals(c.getReason()));
    client
        .resource(service("garbage", 80, Map.of(LoadBalancing.ANNOTATION_IPS, "not-an-ip")))
        .create();
    awaitCondition("garbage", c -> "InvalidAddress".equals(c.getReason()));
    assertThat(events("clash")).anyMatch(e -> e.startsWith("Warning AddressInUse"));

    // The other auto-assign address goes to one more Service; the next finds the pool exhausted.
    client.resource(service("second", 80, Map.of())).create();
    awaitAddressOf(fetch("second"));
    client.resource(service("third", 80, Map.of())).create();
    awaitCondition("third", c -> "PoolExhausted".equals(c.getReason()));
    await()
        .atMost(WAIT)
        .until(
            () -> client.resources(AddressPool.class).withName("lb-lan").get().getStatus(),
            st -> st != null && st.getAssignedIPv4() == 2 && st.getAvailableIPv4() == 0);
    // A requested address from a pool without autoAssign is served.
    client
        .resource(service("reserved", 80, Map.of(LoadBalancing.ANNOTATION_IPS, "192.0.2.211")))
        .create();
    assertThat(awaitAddressOf(fetch("reserved")).getMetadata().getLabels())
        .containsEntry(LoadBalancing.LABEL_POOL, "lb-reserved");

    // Nothing was lost: the first Service still has its address, and freeing one serves "third".
    assertThat(awaitAddressOf(fetch("first")).getMetadata().getName())
        .isEqualTo(first.getMetadata().getName());
    client.resource(fetch("second")).delete();
    awaitAddressOf(fetch("third"));
    for (String s : List.of("first", "clash", "outside", "nopool", "garbage", "third", "reserved"))
      client.resource(fetch(s)).delete();
    await().atMost(WAIT).until(() -> servedAddresses().isEmpty());
  }

  @Test
  void servicesWithOneSharingKeyAndDifferentPortsShareAnAddress() {
    Map<String, String> shared = Map.of(LoadBalancing.ANNOTATION_SHARE_KEY, "front");
    client.resource(service("http", 80, shared)).create();
    VirtualAddress va = awaitAddressOf(fetch("http"));
    client.resource(service("https", 443, shared)).create();
    VirtualAddress same = awaitAddressOf(fetch("https"));
    assertThat(same.getMetadata().getName()).isEqualTo(va.getMetadata().getName());
    awaitUsers(va, NS + "/http", NS + "/https");
    client.resource(fetch("http")).delete();
    awaitUsers(va, NS + "/https");
    client.resource(fetch("https")).delete();
    await().atMost(WAIT).until(() -> servedAddresses().isEmpty());
  }

  @Test
  void aServiceThatChangesClassGivesItsAddressBackAndOthersAreNeverTouched() {
    Service other = service("metallb", 80, Map.of());
    other.getSpec().setLoadBalancerClass("example.com/other");
    client.resource(other).create();
    client.resource(service("moving", 80, Map.of())).create();
    VirtualAddress va = awaitAddressOf(fetch("moving"));
    // loadBalancerClass cannot change; a change of type is how a Service stops being ours.
    Service moving = fetch("moving");
    moving.getSpec().setType("ClusterIP");
    moving.getSpec().setLoadBalancerClass(null);
    moving.getSpec().setAllocateLoadBalancerNodePorts(null);
    moving.getSpec().getPorts().forEach(p -> p.setNodePort(null));
    client.resource(moving).update();
    await()
        .atMost(WAIT)
        .until(
            () ->
                client.resources(VirtualAddress.class).withName(va.getMetadata().getName()).get()
                    == null);
    await().atMost(WAIT).until(() -> fetch("moving").getMetadata().getFinalizers().isEmpty());
    assertThat(fetch("metallb").getMetadata().getFinalizers()).isNullOrEmpty();
    assertThat(fetch("metallb").getStatus().getConditions()).isNullOrEmpty();
    client.resource(fetch("moving")).delete();
    client.resource(fetch("metallb")).delete();
  }

  @Test
  void aLocalServicesAddressMayLiveOnlyWhereItHasReadyEndpoints() {
    Service svc = service("local", 80, Map.of());
    svc.getSpec().setExternalTrafficPolicy("Local");
    client.resource(svc).create();
    VirtualAddress va = awaitAddressOf(fetch("local"));
    assertThat(va.getSpec().getEligibleNodes()).as("no endpoint yet: no restriction").isEmpty();
    // What the endpointslice controller writes (none runs here).
    endpoints("local", Map.of("node-a", true, "node-b", false));
    awaitEligible(va, List.of("node-a"));
    endpoints("local", Map.of("node-a", true, "node-b", true));
    awaitEligible(va, List.of("node-a", "node-b"));
    Service cluster = fetch("local");
    cluster.getSpec().setExternalTrafficPolicy("Cluster");
    client.resource(cluster).update();
    awaitEligible(va, List.of());
    client.resource(fetch("local")).delete();
    await().atMost(WAIT).until(() -> servedAddresses().isEmpty());
  }

  // ------------------------------------------------------------------ helpers

  static void endpoints(String service, Map<String, Boolean> readyByNode) {
    var slice =
        new io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder()
            .withNewMetadata()
            .withName(service + "-slice")
            .withNamespace(NS)
            .addToLabels(LoadBalancerServiceReconciler.SERVICE_NAME_LABEL, service)
            .endMetadata()
            .withAddressType("IPv4");
    int i = 10;
    for (var e : new java.util.TreeMap<>(readyByNode).entrySet()) {
      slice
          .addNewEndpoint()
          .withAddresses("10.244.0." + i++)
          .withNodeName(e.getKey())
          .withNewConditions()
          .withReady(e.getValue())
          .endConditions()
          .endEndpoint();
    }
    client.resource(slice.build()).forceConflicts().serverSideApply();
  }

  static void awaitUsers(VirtualAddress va, String... services) {
    await()
        .atMost(WAIT)
        .until(
            () ->
                LoadBalancerServiceReconciler.usersOf(
                    client
                        .resources(VirtualAddress.class)
                        .withName(va.getMetadata().getName())
                        .get()),
            u -> u.equals(java.util.Set.of(services)));
  }

  static void awaitEligible(VirtualAddress va, List<String> nodes) {
    await()
        .atMost(WAIT)
        .until(
            () ->
                client
                    .resources(VirtualAddress.class)
                    .withName(va.getMetadata().getName())
                    .get()
                    .getSpec()
                    .getEligibleNodes(),
            n -> n.equals(nodes));
  }

  static void pool(String name, List<String> addresses, boolean autoAssign) {
    AddressPool p = new AddressPool();
    p.setMetadata(new ObjectMetaBuilder().withName(name).build());
    p.getSpec().setCluster(CLUSTER);
    p.getSpec().setAddresses(addresses);
    p.getSpec().setAutoAssign(autoAssign);
    client.resource(p).serverSideApply();
  }

  static Service service(String name, int port, Map<String, String> annotations) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(NS)
        .withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        .withType("LoadBalancer")
        .withLoadBalancerClass(LoadBalancing.DEFAULT_CLASS)
        .withSelector(Map.of("app", name))
        .addNewPort()
        .withName("p")
        .withPort(port)
        .withProtocol("TCP")
        .endPort()
        .endSpec()
        .build();
  }

  static Service fetch(String name) {
    Service s = fetchOrNull(name);
    assertThat(s).as("Service " + name).isNotNull();
    return s;
  }

  static Service fetchOrNull(String name) {
    return client.services().inNamespace(NS).withName(name).get();
  }

  static List<VirtualAddress> servedAddresses() {
    return client
        .resources(VirtualAddress.class)
        .withLabel(LoadBalancing.LABEL_LOAD_BALANCER, "true")
        .list()
        .getItems();
  }

  static VirtualAddress awaitAddressOf(Service svc) {
    String key = NS + "/" + svc.getMetadata().getName();
    return await()
        .atMost(WAIT)
        .until(
            () ->
                servedAddresses().stream()
                    .filter(v -> LoadBalancerServiceReconciler.usersOf(v).contains(key))
                    .findFirst(),
            Optional::isPresent)
        .orElseThrow();
  }

  static Condition awaitCondition(String service, java.util.function.Predicate<Condition> test) {
    return await()
        .atMost(WAIT)
        .until(
            () -> {
              Service s = fetchOrNull(service);
              if (s == null || s.getStatus() == null || s.getStatus().getConditions() == null)
                return Optional.<Condition>empty();
              return s.getStatus().getConditions().stream()
                  .filter(c -> LoadBalancing.CONDITION_ASSIGNED.equals(c.getType()))
                  .findFirst();
            },
            c -> c.isPresent() && test.test(c.get()))
        .orElseThrow();
  }

  static Optional<Integer> vhidOf(String va) {
    VirtualAddress v = client.resources(VirtualAddress.class).withName(va).get();
    return Optional.ofNullable(v == null || v.getStatus() == null ? null : v.getStatus().getVhid());
  }

  static List<String> events(String service) {
    return client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> service.equals(e.getInvolvedObject().getName()))
        .map(e -> e.getType() + " " + e.getReason() + " " + e.getMessage())
        .toList();
  }
}
