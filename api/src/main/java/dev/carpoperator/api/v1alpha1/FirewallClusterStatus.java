package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class FirewallClusterStatus {
  @JsonPropertyDescription("The generation of the spec this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription("Ready and Degraded conditions (metav1.Condition).")
  @ListMapKeys("type")
  private List<Condition> conditions = new ArrayList<>();

  @ListMapKeys("name")
  @JsonPropertyDescription("The selected nodes.")
  private List<ClusterNodeStatus> nodes = new ArrayList<>();

  @JsonPropertyDescription("Agents the DaemonSet should run.")
  private Integer desiredAgents;

  @JsonPropertyDescription("Agents running and ready.")
  private Integer readyAgents;

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public List<ClusterNodeStatus> getNodes() {
    return nodes;
  }

  public void setNodes(List<ClusterNodeStatus> nodes) {
    this.nodes = nodes;
  }

  public Integer getDesiredAgents() {
    return desiredAgents;
  }

  public void setDesiredAgents(Integer desiredAgents) {
    this.desiredAgents = desiredAgents;
  }

  public Integer getReadyAgents() {
    return readyAgents;
  }

  public void setReadyAgents(Integer readyAgents) {
    this.readyAgents = readyAgents;
  }
}
