package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/**
 * Connection-state sync between the nodes (pfsync-compatible, IP protocol 240), like {@code
 * ifconfig pfsync0}.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@ValidationRule(
    value = "self.mode == 'bsd-compatible' || has(self.keySecretRef)",
    message =
        "authenticated sync needs sync.keySecretRef (a Secret with the shared key); set sync.mode: bsd-compatible to run unauthenticated like pfsync")
@ValidationRule(
    value = "!has(self.encrypt) || !self.encrypt || self.mode == 'authenticated'",
    message = "sync.encrypt needs mode: authenticated (pfsync peers cannot read encrypted states)")
public class SyncSpec {
  @Required
  @JsonProperty("interface")
  @Pattern("^[a-zA-Z0-9_.:@-]{1,15}$")
  @JsonPropertyDescription(
      "The sync interface (pfsync syncdev), ideally a dedicated link. It needs an IPv4 address on every node: sync packets are IPv4, sent from its first IPv4 address.")
  private String interfaceName;

  @Size(max = AgentLimits.PEERS_MAX)
  @ItemMaxLength(45)
  @ValidationRule(
      value = "self.all(p, isIP(p) && ip(p).family() == 4)",
      message = "every sync peer must be a plain IPv4 address (pfsync syncs over IPv4)")
  @JsonPropertyDescription(
      "Unicast peers (pfsync syncpeer) instead of the 224.0.0.240 multicast group. List every node's sync address: each agent skips its own and accepts sync packets only from the listed addresses.")
  private List<String> peers = new ArrayList<>();

  @JsonPropertyDescription("Secret holding the shared sync key (authenticated mode).")
  private SecretKeyRef keySecretRef;

  @Default("authenticated")
  @JsonPropertyDescription(
      "authenticated (default, between our own agents) or bsd-compatible (plain pfsync v6).")
  private SyncMode mode = SyncMode.AUTHENTICATED;

  @Default("false")
  @JsonPropertyDescription(
      "Also encrypt the states (AES-256-GCM with the shared key); authenticated mode only.")
  private Boolean encrypt = false;

  @Default(AgentLimits.SYNC_MAX_DELAY_MILLIS_DEFAULT_TEXT)
  @Min(AgentLimits.SYNC_MAX_DELAY_MILLIS_MIN)
  @Max(AgentLimits.SYNC_MAX_DELAY_MILLIS_MAX)
  @JsonPropertyDescription(
      "Longest a state change waits to be batched with others into one packet, in milliseconds.")
  private Integer maxDelayMillis = AgentLimits.SYNC_MAX_DELAY_MILLIS_DEFAULT;

  @Min(AgentLimits.SYNC_REALTIME_PRIORITY_MIN)
  @Max(AgentLimits.SYNC_REALTIME_PRIORITY_MAX)
  @JsonPropertyDescription(
      "Real-time (SCHED_RR) priority, 1-99, of the agent threads a state change passes through, as conntrackd's Scheduler option: on a busy node they then run before ordinary work. The agent pods get the SYS_NICE capability for it. 0 or absent: normal priority.")
  private Integer realtimePriority;

  @Default(AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_DEFAULT_TEXT)
  @Min(AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_MIN)
  @Max(AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_MAX)
  @JsonPropertyDescription(
      "How long a starting node waits for the bulk update before it stops holding CARP back.")
  private Integer bulkUpdateTimeoutSeconds = AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_DEFAULT;

  public Boolean getEncrypt() {
    return encrypt;
  }

  public void setEncrypt(Boolean encrypt) {
    this.encrypt = encrypt;
  }

  public Integer getRealtimePriority() {
    return realtimePriority;
  }

  public void setRealtimePriority(Integer realtimePriority) {
    this.realtimePriority = realtimePriority;
  }

  public Integer getMaxDelayMillis() {
    return maxDelayMillis;
  }

  public void setMaxDelayMillis(Integer maxDelayMillis) {
    this.maxDelayMillis = maxDelayMillis;
  }

  public String getInterfaceName() {
    return interfaceName;
  }

  public void setInterfaceName(String interfaceName) {
    this.interfaceName = interfaceName;
  }

  public List<String> getPeers() {
    return peers;
  }

  public void setPeers(List<String> peers) {
    this.peers = peers;
  }

  public SecretKeyRef getKeySecretRef() {
    return keySecretRef;
  }

  public void setKeySecretRef(SecretKeyRef keySecretRef) {
    this.keySecretRef = keySecretRef;
  }

  public SyncMode getMode() {
    return mode;
  }

  public void setMode(SyncMode mode) {
    this.mode = mode;
  }

  public Integer getBulkUpdateTimeoutSeconds() {
    return bulkUpdateTimeoutSeconds;
  }

  public void setBulkUpdateTimeoutSeconds(Integer bulkUpdateTimeoutSeconds) {
    this.bulkUpdateTimeoutSeconds = bulkUpdateTimeoutSeconds;
  }
}
