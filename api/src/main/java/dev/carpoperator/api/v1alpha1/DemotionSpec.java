package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;

/** When a node demotes itself (OpenBSD's per-group carpdemote counters). */
public class DemotionSpec {
  @Default("true")
  @JsonPropertyDescription(
      "Demote the node (+1 on every vhid) while one of its carp interfaces' link is down, so all its addresses fail over together, whatever preempt says.")
  private Boolean onInterfaceDown = true;

  @Default("true")
  @JsonPropertyDescription(
      "Demote from start-up until the agent is ready (OpenBSD demotes by 128 during boot).")
  private Boolean untilReady = true;

  @Default("true")
  @JsonPropertyDescription(
      "Demote while the state-sync bulk update is not in, so a node never becomes master with an empty state table.")
  private Boolean whileSyncPending = true;

  @Size(max = 64)
  @ListMapKeys("name")
  @JsonPropertyDescription("Maintenance demotions set by an operator, per node.")
  private List<NodeDemotion> maintenance = new ArrayList<>();

  public Boolean getOnInterfaceDown() {
    return onInterfaceDown;
  }

  public void setOnInterfaceDown(Boolean onInterfaceDown) {
    this.onInterfaceDown = onInterfaceDown;
  }

  public Boolean getUntilReady() {
    return untilReady;
  }

  public void setUntilReady(Boolean untilReady) {
    this.untilReady = untilReady;
  }

  public Boolean getWhileSyncPending() {
    return whileSyncPending;
  }

  public void setWhileSyncPending(Boolean whileSyncPending) {
    this.whileSyncPending = whileSyncPending;
  }

  public List<NodeDemotion> getMaintenance() {
    return maintenance;
  }

  public void setMaintenance(List<NodeDemotion> maintenance) {
    this.maintenance = maintenance;
  }
}
