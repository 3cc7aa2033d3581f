package dev.carpoperator.operator.address;

import java.util.Set;

/**
 * Picks a vhid for an address that names none: keep the one it has if still free, else the lowest
 * free one.
 */
public final class VhidAllocator {
  private VhidAllocator() {}

  /** Returns null when all 255 are taken. */
  public static Integer allocate(Integer current, Set<Integer> taken) {
    if (current != null && current >= 1 && current <= 255 && !taken.contains(current))
      return current;
    for (int v = 1; v <= 255; v++) if (!taken.contains(v)) return v;
    return null;
  }
}
