package dev.carpoperator.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The standalone agent's configuration ({@code bin/carp-agent --config FILE.yaml}). Field names
 * mirror the VirtualAddress/FirewallCluster CRD spec so a user can move between the two. Parsed by
 * {@link ConfigLoader}, which refuses unknown keys and bad values with a message naming the field.
 */
public record AgentConfig(
    String node,
    boolean preempt,
    List<VirtualAddressConfig> virtualAddresses,
    Integer metricsPort,
    String metricsAddress,
    DemotionConfig demotion,
    String logFormat,
    ActionsConfig actions,
    NotificationsConfig notifications,
    SyncConfig sync,
    String runtimeDirectory) {

  /**
   * Where the agent keeps its runtime files (the record of the addresses it added); a tmpfs cleared
   * at boot.
   */
  public static final String DEFAULT_RUNTIME_DIRECTORY = "/run/carp-operator";

  @JsonCreator
  public AgentConfig(
      @JsonProperty("node") String node,
      @JsonProperty("preempt") Boolean preempt,
      @JsonProperty("virtualAddresses") List<VirtualAddressConfig> virtualAddresses,
      @JsonProperty("metricsPort") Integer metricsPort,
      @JsonProperty("metricsAddress") String metricsAddress,
      @JsonProperty("demotion") DemotionConfig demotion,
      @JsonProperty("logFormat") String logFormat,
      @JsonProperty("actions") ActionsConfig actions,
      @JsonProperty("notifications") NotificationsConfig notifications,
      @JsonProperty("sync") SyncConfig sync,
      @JsonProperty("runtimeDirectory") String runtimeDirectory) {
    this(
        node,
        Boolean.TRUE.equals(preempt),
        virtualAddresses == null ? List.of() : List.copyOf(virtualAddresses),
        metricsPort,
        metricsAddress,
        demotion == null ? DemotionConfig.DEFAULTS : demotion,
        logFormat == null ? "json" : logFormat,
        actions == null ? ActionsConfig.NONE : actions,
        notifications == null ? NotificationsConfig.NONE : notifications,
        sync,
        runtimeDirectory == null ? DEFAULT_RUNTIME_DIRECTORY : runtimeDirectory);
  }

  /** Demotion settings, as in FirewallCluster.spec.demotion. */
  public record DemotionConfig(
      boolean onInterfaceDown, int maintenance, boolean whileSyncPending, boolean untilReady) {
    static final DemotionConfig DEFAULTS = new DemotionConfig(true, 0, true, true);

    @JsonCreator
    public DemotionConfig(
        @JsonProperty("onInterfaceDown") Boolean onInterfaceDown,
        @JsonProperty("maintenance") Integer maintenance,
        @JsonProperty("whileSyncPending") Boolean whileSyncPending,
        @JsonProperty("untilReady") Boolean untilReady) {
      this(
          !Boolean.FALSE.equals(onInterfaceDown),
          maintenance == null ? 0 : maintenance,
          !Boolean.FALSE.equals(whileSyncPending),
          !Boolean.FALSE.equals(untilReady));
    }
  }
}
