package dev.carpoperator.agent.health;

import java.util.List;

/**
 * The checks of one address set and the vhids they demote.
 *
 * @param key what the address is called in logs, status and metrics: the VirtualAddress's name in
 *     Kubernetes, "vhid N" in the standalone YAML
 */
public record AddressChecks(String key, List<Integer> vhids, List<CheckSpec> checks) {
  public AddressChecks {
    vhids = List.copyOf(vhids);
    checks = List.copyOf(checks);
  }
}
