package dev.carpoperator.operator.address;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import dev.carpoperator.operator.OperatorMetrics;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The reconciler's memory follows the addresses: it shrinks when they, or their entries, go. */
class VirtualAddressReconcilerTest {
  static VirtualAddress reported(String name, Object... nodeStates) {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName(name).withGeneration(1L).build());
    va.getSpec().setCluster("c");
    va.getSpec().setVhid(1);
    List<NodeVhidStatus> nodes = new ArrayList<>();
    for (int i = 0; i < nodeStates.length; i += 2) {
      NodeVhidStatus n = new NodeVhidStatus();
      n.setName((String) nodeStates[i]);
      n.setVhid(1);
      n.setState((CarpState) nodeStates[i + 1]);
      nodes.add(n);
    }
    VirtualAddressStatus s = new VirtualAddressStatus();
    s.setNodes(nodes);
    va.setStatus(s);
    return va;
  }

  @Test
  void theLastStatesShrinkWhenEntriesAndAddressesGo() {
    var r = new VirtualAddressReconciler(new OperatorMetrics());
    r.transitions(reported("lan", "mickey", CarpState.MASTER, "minnie", CarpState.BACKUP));
    r.transitions(reported("dmz", "mickey", CarpState.MASTER, "minnie", CarpState.BACKUP));
    assertThat(r.remembered()).isEqualTo(4);

    // minnie leaves the cluster: its agent withdraws its entry of lan
    assertThat(r.transitions(reported("lan", "mickey", CarpState.MASTER))).isEmpty();
    assertThat(r.remembered()).isEqualTo(3);

    // still a transition for what stays
    assertThat(
            r.transitions(reported("dmz", "mickey", CarpState.BACKUP, "minnie", CarpState.MASTER)))
        .extracting(AddressStatusAggregator.Event::reason)
        .containsExactly("StateChanged", "StateChanged");

    // lan is deleted (no reconcile comes for it): the sweep forgets it
    r.forgetAllBut(List.of(reported("dmz")));
    assertThat(r.remembered()).isEqualTo(2);
    r.forgetAllBut(List.of());
    assertThat(r.remembered()).isZero();
  }

  @Test
  void anAddressWithoutEntriesKeepsNothing() {
    var r = new VirtualAddressReconciler(new OperatorMetrics());
    r.transitions(reported("lan", "mickey", CarpState.MASTER));
    r.transitions(reported("lan"));
    assertThat(r.remembered()).isZero();
  }

  /**
   * A Lease renewal reconciles only the addresses where its node's MASTER entry competes with
   * another node's: there the renewal may show a split brain; elsewhere it changes nothing.
   */
  @Test
  void aLeaseRenewalReconcilesOnlyTheAddressesWithTwoMasters() {
    var contested = reported("contested", "mickey", CarpState.MASTER, "minnie", CarpState.MASTER);
    var calm = reported("calm", "mickey", CarpState.MASTER, "minnie", CarpState.BACKUP);
    var others = reported("others", "minnie", CarpState.MASTER, "donald", CarpState.MASTER);
    var none = reported("none");
    assertThat(
            VirtualAddressReconciler.contestedMastersOf(
                "mickey", Stream.of(contested, calm, others, none)))
        .extracting(ResourceID::getName)
        .containsExactly("contested");
    assertThat(
            VirtualAddressReconciler.contestedMastersOf(
                "minnie", Stream.of(contested, calm, others, none)))
        .extracting(ResourceID::getName)
        .containsExactlyInAnyOrder("contested", "others");
    assertThat(VirtualAddressReconciler.contestedMastersOf(null, Stream.of(contested))).isEmpty();
  }
}
