package dev.carpoperator.operator;

import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.List;

/**
 * What an agent writes into a VirtualAddress, for the operator's tests where no agent runs: its own
 * {@code status.nodes} entry, by server-side apply with its own field manager.
 */
public final class AgentStatusWrites {
  private AgentStatusWrites() {}

  public static void report(
      KubernetesClient client, String va, int vhid, String node, CarpState state) {
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
}
