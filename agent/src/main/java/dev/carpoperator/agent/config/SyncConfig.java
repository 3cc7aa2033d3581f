package dev.carpoperator.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import java.util.List;

/**
 * The {@code sync:} section: connection-state sync with the other firewalls (pfsync-compatible, IP
 * protocol 240), as in FirewallCluster.spec.sync. Absent means no sync.
 *
 * @param interfaceName the sync interface (pfsync's syncdev), ideally a dedicated link
 * @param peers unicast IPv4 peers (pfsync's syncpeer); empty = multicast to 224.0.0.240
 * @param mode {@code authenticated} (default) or {@code bsd-compatible} (plain pfsync v6)
 * @param keyFile file holding the shared key (at least 16 bytes); required when authenticated
 * @param encrypt also encrypt the states (authenticated mode only)
 * @param bulkUpdateTimeoutSeconds how long CARP stays demoted waiting for the peers' table at start
 * @param hostId this node's pf hostid (creatorid), 1..4294967295; random when absent
 * @param maxDelayMillis longest a state change waits to be batched with others
 * @param realtimePriority SCHED_RR priority (1..99) of the threads a state passes through, as
 *     conntrackd's {@code Scheduler}; 0 (default) leaves them at normal priority
 */
public record SyncConfig(
    String interfaceName,
    List<String> peers,
    String mode,
    String keyFile,
    boolean encrypt,
    int bulkUpdateTimeoutSeconds,
    Long hostId,
    int maxDelayMillis,
    int realtimePriority) {

  public static final String AUTHENTICATED = "authenticated";
  public static final String BSD_COMPATIBLE = "bsd-compatible";

  @JsonCreator
  public SyncConfig(
      @JsonProperty("interface") String interfaceName,
      @JsonProperty("peers") List<String> peers,
      @JsonProperty("mode") String mode,
      @JsonProperty("keyFile") String keyFile,
      @JsonProperty("encrypt") Boolean encrypt,
      @JsonProperty("bulkUpdateTimeoutSeconds") Integer bulkUpdateTimeoutSeconds,
      @JsonProperty("hostId") Long hostId,
      @JsonProperty("maxDelayMillis") Integer maxDelayMillis,
      @JsonProperty("realtimePriority") Integer realtimePriority) {
    this(
        interfaceName,
        peers == null ? List.of() : List.copyOf(peers),
        mode == null ? AUTHENTICATED : mode,
        keyFile,
        Boolean.TRUE.equals(encrypt),
        bulkUpdateTimeoutSeconds == null
            ? AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_DEFAULT
            : bulkUpdateTimeoutSeconds,
        hostId,
        maxDelayMillis == null ? AgentLimits.SYNC_MAX_DELAY_MILLIS_DEFAULT : maxDelayMillis,
        realtimePriority == null ? 0 : realtimePriority);
  }

  public boolean authenticated() {
    return AUTHENTICATED.equals(mode);
  }
}
