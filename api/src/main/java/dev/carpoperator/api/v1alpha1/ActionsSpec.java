package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;

/**
 * Actions run in order when the node's state changes; a failing action is reported and never blocks
 * the election.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public class ActionsSpec {
  @Size(max = 32)
  @JsonPropertyDescription(
      "Run at start-up, before the first advert is sent (e.g. hold a bridge down until the election decides).")
  private List<StateAction> onStartup = new ArrayList<>();

  @Size(max = 32)
  @JsonPropertyDescription("Run when the node becomes MASTER.")
  private List<StateAction> onMaster = new ArrayList<>();

  @Size(max = 32)
  @JsonPropertyDescription("Run when the node becomes BACKUP or INIT.")
  private List<StateAction> onBackup = new ArrayList<>();

  public List<StateAction> getOnStartup() {
    return onStartup;
  }

  public void setOnStartup(List<StateAction> onStartup) {
    this.onStartup = onStartup;
  }

  public List<StateAction> getOnMaster() {
    return onMaster;
  }

  public void setOnMaster(List<StateAction> onMaster) {
    this.onMaster = onMaster;
  }

  public List<StateAction> getOnBackup() {
    return onBackup;
  }

  public void setOnBackup(List<StateAction> onBackup) {
    this.onBackup = onBackup;
  }
}
