package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import java.util.List;
import java.util.Optional;

/**
 * What one node's agent reports for one vhid. Each agent writes only its own entries (server-side
 * apply with its own field manager; the list is a map keyed by node and vhid), so many agents never
 * conflict.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NodeVhidStatus {
  @Required
  @JsonPropertyDescription("Node name.")
  private String name;

  @Required
  @JsonPropertyDescription("The vhid this entry is about.")
  private Integer vhid;

  @JsonPropertyDescription("INIT, BACKUP or MASTER.")
  private CarpState state;

  @JsonPropertyDescription("advskew this node advertises.")
  private Integer advskew;

  @JsonPropertyDescription("Demotion count this node advertises (OpenBSD carpdemote).")
  private Integer demotion;

  @JsonPropertyDescription("When this node entered the state (RFC 3339).")
  private String since;

  @JsonPropertyDescription(
      "Why the node is in this state, e.g. master-down-timeout, preempt, link-down.")
  private String reason;

  @JsonPropertyDescription(
      "Adverts this node rejected on the vhid's interface over about the last 5 minutes because their HMAC did not verify (another password or another address set).")
  private Long authFailures;

  @JsonPropertyDescription(
      "Actions (spec.actions) that failed in the node's last run; 0 when they all succeeded.")
  private Long failedActions;

  @JsonPropertyDescription(
      "The first failure of that run, e.g. \"link br0 up: Cannot find device\".")
  private String actionError;

  @JsonPropertyDescription(
      "The health checks (spec.healthChecks) failing on this node, each as \"name: why\"; absent when all pass.")
  private List<String> failingChecks;

  @JsonPropertyDescription("When the agent last wrote this entry (RFC 3339).")
  private String lastReport;

  @JsonPropertyDescription(
      "The node's state-sync start-up bulk update: requesting, receiving, done or timed_out; absent without sync.")
  // A string, not BulkSyncState: a state unknown to this operator must not make the status
  // unreadable
  private String sync;

  public List<String> getFailingChecks() {
    return failingChecks;
  }

  public void setFailingChecks(List<String> failingChecks) {
    this.failingChecks = failingChecks;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Integer getVhid() {
    return vhid;
  }

  public void setVhid(Integer vhid) {
    this.vhid = vhid;
  }

  public CarpState getState() {
    return state;
  }

  public void setState(CarpState state) {
    this.state = state;
  }

  public Integer getAdvskew() {
    return advskew;
  }

  public void setAdvskew(Integer advskew) {
    this.advskew = advskew;
  }

  public Integer getDemotion() {
    return demotion;
  }

  public void setDemotion(Integer demotion) {
    this.demotion = demotion;
  }

  public String getSince() {
    return since;
  }

  public void setSince(String since) {
    this.since = since;
  }

  public String getReason() {
    return reason;
  }

  public void setReason(String reason) {
    this.reason = reason;
  }

  public Long getAuthFailures() {
    return authFailures;
  }

  public void setAuthFailures(Long authFailures) {
    this.authFailures = authFailures;
  }

  public Long getFailedActions() {
    return failedActions;
  }

  public void setFailedActions(Long failedActions) {
    this.failedActions = failedActions;
  }

  public String getSync() {
    return sync;
  }

  public void setSync(String sync) {
    this.sync = sync;
  }

  /** {@link #getSync()} read as a {@link BulkSyncState}; empty when absent or unknown. */
  public Optional<BulkSyncState> syncState() {
    return BulkSyncState.parse(sync);
  }

  /** Sets {@link #getSync()} to the state's wire value; null clears it. */
  public void syncState(BulkSyncState state) {
    this.sync = state == null ? null : state.wire();
  }

  public String getActionError() {
    return actionError;
  }

  public void setActionError(String actionError) {
    this.actionError = actionError;
  }

  public String getLastReport() {
    return lastReport;
  }

  public void setLastReport(String lastReport) {
    this.lastReport = lastReport;
  }
}
