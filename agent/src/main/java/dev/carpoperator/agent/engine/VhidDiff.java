package dev.carpoperator.agent.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a reconfiguration changes, by (interface, vhid) key: running vhids that are gone or changed
 * stop (bow out, release), new or changed ones start, unchanged ones are left alone (changing one
 * address never makes another fail over). Pure.
 *
 * @param stop keys of running vhids to stop, in running order
 * @param start specs to start, in the order wanted (of duplicate keys the last one)
 */
record VhidDiff(List<String> stop, List<VhostSpec> start) {
  VhidDiff {
    stop = List.copyOf(stop);
    start = List.copyOf(start);
  }

  /** The key of a vhid on an interface: "eth0/1". */
  static String key(String interfaceName, int vhid) {
    return interfaceName + "/" + vhid;
  }

  static String key(VhostSpec spec) {
    return key(spec.interfaceName(), spec.vhid());
  }

  /**
   * @param running the running vhids that a reconfiguration may change, key to spec, in order
   * @param wanted the new configuration's vhids
   */
  static VhidDiff of(Map<String, VhostSpec> running, List<VhostSpec> wanted) {
    Map<String, VhostSpec> toStart = new LinkedHashMap<>();
    for (VhostSpec sp : wanted) toStart.put(key(sp), sp);
    List<String> stop = new ArrayList<>();
    running.forEach(
        (key, spec) -> {
          if (spec.equals(toStart.get(key))) toStart.remove(key);
          else stop.add(key);
        });
    return new VhidDiff(stop, new ArrayList<>(toStart.values()));
  }

  boolean isEmpty() {
    return stop.isEmpty() && start.isEmpty();
  }
}
