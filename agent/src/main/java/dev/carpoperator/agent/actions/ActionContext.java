package dev.carpoperator.agent.actions;

import dev.carpoperator.agent.carp.CarpState;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Why actions run: the trigger and the state change behind it ({@code interfaceName}, {@code from},
 * {@code reason} null and {@code vhid} 0 at start-up when no vhid is named).
 */
public record ActionContext(
    ActionRunner.Trigger trigger,
    String node,
    String cluster,
    int vhid,
    String interfaceName,
    CarpState from,
    CarpState to,
    String reason) {

  /** The environment of a command action. */
  public Map<String, String> environment() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("CARP_TRIGGER", trigger.label());
    env.put("CARP_NODE", node);
    if (cluster != null) env.put("CARP_CLUSTER", cluster);
    env.put("CARP_VHID", vhid == 0 ? "" : Integer.toString(vhid));
    env.put("CARP_INTERFACE", interfaceName == null ? "" : interfaceName);
    env.put("CARP_OLD_STATE", from == null ? "" : from.name());
    env.put("CARP_STATE", to.name());
    env.put("CARP_REASON", reason == null ? "" : reason);
    return env;
  }
}
