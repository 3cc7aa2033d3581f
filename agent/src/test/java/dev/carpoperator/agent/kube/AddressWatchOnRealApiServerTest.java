package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressSpec;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Crds;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * An agent's VirtualAddress watch on a real kube-apiserver: selected by the CRD's selectable field
 * spec.cluster, so the agent neither stores nor hears of other clusters' addresses; and on an API
 * server that refuses the field selector (here the CRD without selectableFields), every address, as
 * before.
 */
class AddressWatchOnRealApiServerTest {
  static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void anAgentListsAndHearsOnlyItsOwnClustersAddresses() {
    KubernetesClient admin = ControlPlane.shared().adminClient();
    Crds.install(admin);
    create(admin, "aw-ours-1", "aw-ours", "198.51.100.61");
    create(admin, "aw-theirs-1", "aw-theirs", "198.51.100.62");
    Set<String> heard = ConcurrentHashMap.newKeySet();
    var started = AddressWatch.start(admin, "aw-ours", recorder(heard));
    try {
      assertThat(started.selected()).isTrue();
      assertThat(names(started.informer().getStore().list())).containsExactly("aw-ours-1");

      // theirs first, then ours: one watch delivers in order, so once ours is in, theirs was
      // not sent
      create(admin, "aw-theirs-2", "aw-theirs", "198.51.100.63");
      create(admin, "aw-ours-2", "aw-ours", "198.51.100.64");
      await().atMost(WAIT).until(() -> heard.contains("aw-ours-2"));
      assertThat(heard).containsExactlyInAnyOrder("aw-ours-1", "aw-ours-2");
      assertThat(names(started.informer().getStore().list()))
          .containsExactlyInAnyOrder("aw-ours-1", "aw-ours-2");
    } finally {
      started.informer().close();
      for (String n : List.of("aw-ours-1", "aw-ours-2", "aw-theirs-1", "aw-theirs-2"))
        admin.resources(VirtualAddress.class).withName(n).delete();
    }
  }

  @Test
  void anApiServerThatCannotSelectByTheFieldGetsTheUnselectedWatch() throws IOException {
    // a control plane of its own: its CRD lacks selectableFields, which the other tests need
    try (ControlPlane plane = ControlPlane.start();
        KubernetesClient admin = plane.adminClient()) {
      CustomResourceDefinition crd;
      try (InputStream in =
          Files.newInputStream(
              ControlPlaneBinaries.repositoryRoot()
                  .resolve("crds/virtualaddresses.carp-operator.dev.yaml"))) {
        crd = admin.apiextensions().v1().customResourceDefinitions().load(in).item();
      }
      crd.getSpec().getVersions().forEach(v -> v.setSelectableFields(null));
      admin.resource(crd).serverSideApply();
      await()
          .atMost(WAIT)
          .ignoreExceptions()
          .until(
              () -> {
                admin.resources(VirtualAddress.class).list();
                return true;
              });
      create(admin, "aw-ours-1", "aw-ours", "198.51.100.61");
      create(admin, "aw-theirs-1", "aw-theirs", "198.51.100.62");

      var started = AddressWatch.start(admin, "aw-ours", recorder(ConcurrentHashMap.newKeySet()));
      try {
        assertThat(started.selected()).isFalse();
        assertThat(names(started.informer().getStore().list()))
            .containsExactlyInAnyOrder("aw-ours-1", "aw-theirs-1");
      } finally {
        started.informer().close();
      }
    }
  }

  static ResourceEventHandler<VirtualAddress> recorder(Set<String> heard) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(VirtualAddress va) {
        heard.add(va.getMetadata().getName());
      }

      @Override
      public void onUpdate(VirtualAddress before, VirtualAddress now) {
        heard.add(now.getMetadata().getName());
      }

      @Override
      public void onDelete(VirtualAddress va, boolean finalStateUnknown) {}
    };
  }

  static List<String> names(List<VirtualAddress> list) {
    return list.stream().map(v -> v.getMetadata().getName()).toList();
  }

  static void create(KubernetesClient admin, String name, String cluster, String address) {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName(name).build());
    VirtualAddressSpec spec = new VirtualAddressSpec();
    spec.setCluster(cluster);
    spec.setAddresses(List.of(address + "/24"));
    va.setSpec(spec);
    admin.resource(va).create();
  }
}
