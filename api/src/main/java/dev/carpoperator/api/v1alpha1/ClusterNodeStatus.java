package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;

/** One selected node as the operator sees it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClusterNodeStatus {
  @Required
  @JsonPropertyDescription("Node name.")
  private String name;

  @JsonPropertyDescription("Whether an agent is running and reporting on the node.")
  private Boolean agentReady;

  @JsonPropertyDescription("The node's current demotion count.")
  private Integer demotion;

  @JsonPropertyDescription("State sync on this node: disabled, bulk-update, in-sync or behind.")
  private String sync;

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Boolean getAgentReady() {
    return agentReady;
  }

  public void setAgentReady(Boolean agentReady) {
    this.agentReady = agentReady;
  }

  public Integer getDemotion() {
    return demotion;
  }

  public void setDemotion(Integer demotion) {
    this.demotion = demotion;
  }

  public String getSync() {
    return sync;
  }

  public void setSync(String sync) {
    this.sync = sync;
  }
}
