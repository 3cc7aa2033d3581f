package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.kubernetes.api.model.Toleration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The nodes that act together as one redundant firewall, and how they behave. */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public class FirewallClusterSpec {
  @JsonPropertyDescription(
      "Labels selecting the nodes that run the agent; empty selects every node.")
  private Map<String, String> nodeSelector = new HashMap<>();

  @Size(max = 32)
  @JsonPropertyDescription(
      "Tolerations for the agent pods (e.g. to run on control-plane or dedicated firewall nodes).")
  private List<Toleration> tolerations = new ArrayList<>();

  @Default("false")
  @JsonPropertyDescription(
      "OpenBSD net.inet.carp.preempt: a backup that advertises more often (lower advskew) and is not more demoted takes over from a running master, so the preferred node takes its addresses back when it returns (fail-back). Failover does not need it: a backup takes over from a master that falls silent or is more demoted (e.g. a link down) either way.")
  private Boolean preempt = false;

  @JsonPropertyDescription("When nodes demote themselves.")
  private DemotionSpec demotion = new DemotionSpec();

  @JsonPropertyDescription(
      "Connection-state sync (pfsync-compatible). Omit to run without state sync.")
  private SyncSpec sync;

  @JsonPropertyDescription("Built-in actions on state changes (ifstated-style).")
  private ActionsSpec actions;

  @JsonPropertyDescription("Notifications of state changes (a webhook).")
  private NotificationsSpec notifications;

  @JsonPropertyDescription("Agent DaemonSet settings.")
  private AgentSpec agent = new AgentSpec();

  public Map<String, String> getNodeSelector() {
    return nodeSelector;
  }

  public void setNodeSelector(Map<String, String> nodeSelector) {
    this.nodeSelector = nodeSelector;
  }

  public List<Toleration> getTolerations() {
    return tolerations;
  }

  public void setTolerations(List<Toleration> tolerations) {
    this.tolerations = tolerations;
  }

  public Boolean getPreempt() {
    return preempt;
  }

  public void setPreempt(Boolean preempt) {
    this.preempt = preempt;
  }

  public DemotionSpec getDemotion() {
    return demotion;
  }

  public void setDemotion(DemotionSpec demotion) {
    this.demotion = demotion;
  }

  public SyncSpec getSync() {
    return sync;
  }

  public void setSync(SyncSpec sync) {
    this.sync = sync;
  }

  public ActionsSpec getActions() {
    return actions;
  }

  public void setActions(ActionsSpec actions) {
    this.actions = actions;
  }

  public NotificationsSpec getNotifications() {
    return notifications;
  }

  public void setNotifications(NotificationsSpec notifications) {
    this.notifications = notifications;
  }

  public AgentSpec getAgent() {
    return agent;
  }

  public void setAgent(AgentSpec agent) {
    this.agent = agent;
  }
}
