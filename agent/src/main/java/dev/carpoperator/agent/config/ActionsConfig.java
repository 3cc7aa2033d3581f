package dev.carpoperator.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * State-change actions (what ifstated does on OpenBSD), with the field names of
 * FirewallCluster.spec.actions so a config translates 1:1; the standalone file additionally allows
 * {@code command}, {@code vhid} and {@code handoverDelayMillis}.
 *
 * @param vhid the vhid whose state drives the actions; null: every vhid, MASTER while any is MASTER
 *     (ifstated's view of a carp interface)
 * @param handoverDelayMillis how long onMaster waits when taking over from a master that still runs
 *     (preempt), so the old master has run its onBackup first
 */
public record ActionsConfig(
    Integer vhid,
    int handoverDelayMillis,
    List<ActionConfig> onStartup,
    List<ActionConfig> onMaster,
    List<ActionConfig> onBackup) {
  public static final int DEFAULT_HANDOVER_DELAY_MILLIS = 500;
  public static final ActionsConfig NONE =
      new ActionsConfig(null, DEFAULT_HANDOVER_DELAY_MILLIS, List.of(), List.of(), List.of());

  @JsonCreator
  public ActionsConfig(
      @JsonProperty("vhid") Integer vhid,
      @JsonProperty("handoverDelayMillis") Integer handoverDelayMillis,
      @JsonProperty("onStartup") List<ActionConfig> onStartup,
      @JsonProperty("onMaster") List<ActionConfig> onMaster,
      @JsonProperty("onBackup") List<ActionConfig> onBackup) {
    this(
        vhid,
        handoverDelayMillis == null ? DEFAULT_HANDOVER_DELAY_MILLIS : handoverDelayMillis,
        list(onStartup),
        list(onMaster),
        list(onBackup));
  }

  private static List<ActionConfig> list(List<ActionConfig> l) {
    return l == null
        ? List.of()
        : Collections.unmodifiableList(new ArrayList<>(l)); // nulls kept for the validator
  }

  public boolean isEmpty() {
    return onStartup.isEmpty() && onMaster.isEmpty() && onBackup.isEmpty();
  }

  /**
   * One action: exactly one of link, address, route (as in the CRD) or command (standalone only).
   */
  public record ActionConfig(
      LinkConfig link, AddressConfig address, RouteConfig route, CommandConfig command) {
    @JsonCreator
    public ActionConfig(
        @JsonProperty("link") LinkConfig link,
        @JsonProperty("address") AddressConfig address,
        @JsonProperty("route") RouteConfig route,
        @JsonProperty("command") CommandConfig command) {
      this.link = link;
      this.address = address;
      this.route = route;
      this.command = command;
    }
  }

  public record LinkConfig(String name, String state) {
    @JsonCreator
    public LinkConfig(@JsonProperty("name") String name, @JsonProperty("state") String state) {
      this.name = name;
      this.state = state;
    }
  }

  public record AddressConfig(String interfaceName, String address, boolean present) {
    @JsonCreator
    public AddressConfig(
        @JsonProperty("interface") String interfaceName,
        @JsonProperty("address") String address,
        @JsonProperty("present") Boolean present) {
      this(interfaceName, address, !Boolean.FALSE.equals(present));
    }
  }

  public record RouteConfig(String destination, String via, String interfaceName, boolean present) {
    @JsonCreator
    public RouteConfig(
        @JsonProperty("destination") String destination,
        @JsonProperty("via") String via,
        @JsonProperty("interface") String interfaceName,
        @JsonProperty("present") Boolean present) {
      this(destination, via, interfaceName, !Boolean.FALSE.equals(present));
    }
  }

  /** A program run without a shell; the state change is passed in its environment (CARP_*). */
  public record CommandConfig(List<String> run, int timeoutSeconds) {
    public static final int DEFAULT_TIMEOUT_SECONDS = 10;

    @JsonCreator
    public CommandConfig(
        @JsonProperty("run") List<String> run,
        @JsonProperty("timeoutSeconds") Integer timeoutSeconds) {
      this(
          run == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(run)),
          timeoutSeconds == null ? DEFAULT_TIMEOUT_SECONDS : timeoutSeconds);
    }
  }
}
