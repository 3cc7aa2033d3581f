package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/**
 * An operator-set demotion for maintenance, like {@code ifconfig -g carp carpdemote N} on one
 * firewall.
 */
public class NodeDemotion {
  @Required
  @Size(max = 253)
  @JsonPropertyDescription("Node name.")
  private String name;

  @Required
  @Min(AgentLimits.DEMOTION_MIN)
  @Max(AgentLimits.DEMOTION_MAX)
  @JsonPropertyDescription(
      "Demotion to add on this node, 0-255; a more demoted master hands over to a less demoted backup.")
  private Integer count;

  public NodeDemotion() {}

  public NodeDemotion(String name, int count) {
    this.name = name;
    this.count = count;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Integer getCount() {
    return count;
  }

  public void setCount(Integer count) {
    this.count = count;
  }
}
