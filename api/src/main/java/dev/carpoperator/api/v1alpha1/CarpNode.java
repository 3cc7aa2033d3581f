package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;

/**
 * One vhid of a load-balanced address, OpenBSD's {@code carpnodes vhid:advskew}: every vhid runs
 * its own election, so with one vhid per node preferring a different node, each node is master of a
 * share of the traffic.
 */
public class CarpNode {
  @Required
  @Min(AgentLimits.VHID_MIN)
  @Max(AgentLimits.VHID_MAX)
  @JsonPropertyDescription("Virtual host id of this share, 1-255.")
  private Integer vhid;

  @Required
  @Size(min = 1, max = 32)
  @ListMapKeys("name")
  @JsonPropertyDescription("advskew of each node for this vhid.")
  private List<NodeAdvskew> nodes = new ArrayList<>();

  public CarpNode() {}

  public CarpNode(int vhid, List<NodeAdvskew> nodes) {
    this.vhid = vhid;
    this.nodes = new ArrayList<>(nodes);
  }

  public Integer getVhid() {
    return vhid;
  }

  public void setVhid(Integer vhid) {
    this.vhid = vhid;
  }

  public List<NodeAdvskew> getNodes() {
    return nodes;
  }

  public void setNodes(List<NodeAdvskew> nodes) {
    this.nodes = nodes;
  }
}
