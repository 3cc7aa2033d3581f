package dev.carpoperator.api.crd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.api.v1alpha1.BalancingMode;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressSpec;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.Crds;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The committed CRDs, the examples and invalid resources against a real kube-apiserver (not a
 * mock).
 */
class CrdsOnRealApiServerTest {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static ControlPlane controlPlane;
  static KubernetesClient client;

  @BeforeAll
  static void installCrds() throws IOException {
    controlPlane = ControlPlane.shared();
    client = controlPlane.adminClient();
    Crds.install(client);
    client
        .namespaces()
        .resource(
            new NamespaceBuilder().withNewMetadata().withName("carp-system").endMetadata().build())
        .serverSideApply();
    client
        .namespaces()
        .resource(
            new NamespaceBuilder().withNewMetadata().withName("carp-agents").endMetadata().build())
        .serverSideApply(); // the examples' Secrets
  }

  @AfterAll
  static void closeClient() {
    if (client != null) client.close();
  }

  static Stream<Path> examples() throws IOException {
    try (Stream<Path> walk = Files.walk(ROOT.resolve("examples"))) {
      return walk.filter(p -> p.toString().endsWith(".yaml")).sorted().toList().stream();
    }
  }

  @ParameterizedTest
  @MethodSource("examples")
  void everyExampleIsAccepted(Path example) throws IOException {
    try (InputStream in = Files.newInputStream(example)) {
      List<HasMetadata> items = client.load(in).items();
      assertThat(items).isNotEmpty();
      for (HasMetadata item : items) {
        HasMetadata created = client.resource(item).forceConflicts().serverSideApply();
        assertThat(created.getMetadata().getUid())
            .as("%s in %s", item.getMetadata().getName(), example)
            .isNotBlank();
      }
    }
  }

  @Test
  void defaultsAreFilledInByTheApiServer() {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName("defaults-check").build());
    VirtualAddressSpec spec = new VirtualAddressSpec();
    spec.setCluster("c1");
    spec.setAddresses(List.of("192.0.2.10/24"));
    spec.setAdvbase(null);
    spec.setAdvskew(null);
    spec.setBalancing(null);
    spec.setProfile(null);
    va.setSpec(spec);
    VirtualAddress stored = client.resource(va).create();
    assertThat(stored.getSpec().getAdvbase()).isEqualTo(1);
    assertThat(stored.getSpec().getAdvskew()).isZero();
    assertThat(stored.getSpec().getBalancing()).isEqualTo(BalancingMode.NONE);
    assertThat(stored.getSpec().getVhid()).as("vhid is left for the operator to allocate").isNull();
    client.resource(stored).delete();
  }

  /** The counterpart of invalid/route-without-via-or-interface.yaml: either field alone will do. */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(
      strings = {"{via: 192.0.2.254}", "{interface: eth1}", "{via: 192.0.2.254, interface: eth1}"})
  void aRouteNeedsViaOrInterfaceOrBoth(String nextHop) {
    String name = "route-" + Integer.toHexString(nextHop.hashCode());
    String yaml =
        """
        apiVersion: carp-operator.dev/v1alpha1
        kind: FirewallCluster
        metadata: {name: %s}
        spec:
          actions:
            onMaster:
              - route: {destination: 0.0.0.0/0, %s}
        """
            .formatted(name, nextHop.substring(1, nextHop.length() - 1));
    HasMetadata item =
        client.load(new java.io.ByteArrayInputStream(yaml.getBytes())).items().getFirst();
    HasMetadata created = client.resource(item).create();
    assertThat(created.getMetadata().getUid()).isNotBlank();
    client.resource(created).delete();
  }

  static Stream<Path> invalidResources() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("src/test/resources/invalid"))) {
      return files.sorted().toList().stream();
    }
  }

  @ParameterizedTest
  @MethodSource("invalidResources")
  void invalidResourcesAreRejectedWithAMessageThatSaysWhatToFix(Path file) throws IOException {
    String yaml = Files.readString(file);
    String expected = yaml.lines().findFirst().orElseThrow().replaceFirst("^# expect: ", "");
    HasMetadata item =
        client.load(new java.io.ByteArrayInputStream(yaml.getBytes())).items().getFirst();
    assertThatThrownBy(() -> client.resource(item).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(expected);
  }

  @Test
  void agentsCanEachApplyTheirOwnStatusEntryWithoutConflicts() {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName("ssa-status-check").build());
    va.getSpec().setCluster("c1");
    va.getSpec().setVhid(9);
    va.getSpec().setAddresses(List.of("192.0.2.10/24"));
    client.resource(va).create();

    applyOwnEntry("ssa-status-check", "node-a", CarpState.MASTER);
    applyOwnEntry("ssa-status-check", "node-b", CarpState.BACKUP);
    applyOwnEntry(
        "ssa-status-check",
        "node-a",
        CarpState.MASTER); // an agent re-applying keeps the other's entry

    VirtualAddress stored =
        client.resources(VirtualAddress.class).withName("ssa-status-check").get();
    assertThat(stored.getStatus().getNodes())
        .extracting(NodeVhidStatus::getName, NodeVhidStatus::getState)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("node-a", CarpState.MASTER),
            org.assertj.core.groups.Tuple.tuple("node-b", CarpState.BACKUP));
    client.resource(stored).delete();
  }

  private void applyOwnEntry(String vaName, String node, CarpState state) {
    VirtualAddress patch = new VirtualAddress();
    patch.setMetadata(new ObjectMetaBuilder().withName(vaName).build());
    patch.setSpec(null);
    VirtualAddressStatus status = new VirtualAddressStatus();
    status.setConditions(null);
    NodeVhidStatus entry = new NodeVhidStatus();
    entry.setName(node);
    entry.setVhid(9);
    entry.setState(state);
    status.setNodes(List.of(entry));
    patch.setStatus(status);
    client
        .resources(VirtualAddress.class)
        .withName(vaName)
        .subresource("status")
        .patch(
            new PatchContext.Builder()
                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                .withFieldManager("carp-agent-" + node)
                .withForce(true)
                .build(),
            patch);
  }

  @Test
  void kubectlShowsTheStatusColumns() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("columns-check").build());
    client.resource(fwc).serverSideApply();
    String vaTable = controlPlane.kubectl("get", "virtualaddresses");
    assertThat(vaTable.lines().findFirst().orElseThrow().split("\\s+"))
        .containsExactly("NAME", "VHID", "ADDRESSES", "MASTER", "READY", "AGE");
    assertThat(controlPlane.kubectl("get", "va", "mickey-minnie-lan"))
        .contains("mickey-minnie-lan");
    assertThat(controlPlane.kubectl("get", "fwc").lines().findFirst().orElseThrow())
        .startsWith("NAME");
  }
}
