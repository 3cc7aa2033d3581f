package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.Objects;

/** A node's own advskew: its master/backup preference (lower advertises faster and wins). */
public class NodeAdvskew {
  @Required
  @Size(max = 253)
  @JsonPropertyDescription("Kubernetes Node name.")
  private String name;

  @Required
  @Min(AgentLimits.ADVSKEW_MIN)
  @Max(AgentLimits.ADVSKEW_MAX)
  @JsonPropertyDescription(
      "advskew on this node, 0-254: the interval is advbase + advskew/256 s, the lowest wins.")
  private Integer advskew;

  public NodeAdvskew() {}

  public NodeAdvskew(String name, int advskew) {
    this.name = name;
    this.advskew = advskew;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Integer getAdvskew() {
    return advskew;
  }

  public void setAdvskew(Integer advskew) {
    this.advskew = advskew;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NodeAdvskew n
        && Objects.equals(name, n.name)
        && Objects.equals(advskew, n.advskew);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, advskew);
  }
}
