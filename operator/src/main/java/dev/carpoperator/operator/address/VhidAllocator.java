package dev.carpoperator.operator.address;

import dev.carpoperator.api.v1alpha1.AgentLimits;
import java.util.Set;

/**
 * Picks a vhid for an address that names none: keep the one it has if still free, else the lowest
 * free one.
 */
public final class VhidAllocator {
  private VhidAllocator() {}

  /** Returns null when all 255 are taken. */
  public static Integer allocate(Integer current, Set<Integer> taken) {
    if (current != null
        && AgentLimits.within(current, AgentLimits.VHID_MIN, AgentLimits.VHID_MAX)
        && !taken.contains(current)) return current;
    for (int v = AgentLimits.VHID_MIN; v <= AgentLimits.VHID_MAX; v++)
      if (!taken.contains(v)) return v;
    return null;
  }
}
