package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * Aggregated by the operator (conditions, master, failovers) from the per-node entries the agents
 * write. {@code nodes} is a list-map keyed by node and vhid and {@code conditions} one keyed by
 * type, so server-side apply merges entries from different writers instead of replacing the whole
 * list.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VirtualAddressStatus {
  @JsonPropertyDescription("The generation of the spec this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription("The vhid in use: spec.vhid, or the one the operator allocated.")
  private Integer vhid;

  @JsonPropertyDescription(
      "The node that is MASTER (for load balancing: the masters, comma-separated, in vhid order).")
  private String master;

  @JsonPropertyDescription("Ready and Degraded conditions (metav1.Condition).")
  @ListMapKeys("type")
  private List<Condition> conditions = new ArrayList<>();

  @ListMapKeys({"name", "vhid"})
  @JsonPropertyDescription("Each node's state per vhid, as its agent reports it.")
  private List<NodeVhidStatus> nodes = new ArrayList<>();

  @JsonPropertyDescription(
      "The last node seen as master, kept while no node is (a failover passes through that).")
  private String lastMaster;

  @JsonPropertyDescription("How many times the master moved to another node.")
  private Long failoverCount;

  @JsonPropertyDescription("When the master last changed (RFC 3339).")
  private String lastTransitionTime;

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public Integer getVhid() {
    return vhid;
  }

  public void setVhid(Integer vhid) {
    this.vhid = vhid;
  }

  public String getMaster() {
    return master;
  }

  public void setMaster(String master) {
    this.master = master;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public List<NodeVhidStatus> getNodes() {
    return nodes;
  }

  public void setNodes(List<NodeVhidStatus> nodes) {
    this.nodes = nodes;
  }

  public String getLastMaster() {
    return lastMaster;
  }

  public void setLastMaster(String lastMaster) {
    this.lastMaster = lastMaster;
  }

  public Long getFailoverCount() {
    return failoverCount;
  }

  public void setFailoverCount(Long failoverCount) {
    this.failoverCount = failoverCount;
  }

  public String getLastTransitionTime() {
    return lastTransitionTime;
  }

  public void setLastTransitionTime(String lastTransitionTime) {
    this.lastTransitionTime = lastTransitionTime;
  }
}
