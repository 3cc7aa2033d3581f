package dev.carpoperator.agent.carp;

import dev.carpoperator.api.v1alpha1.AgentLimits;
import java.util.Arrays;
import java.util.Collection;
import java.util.function.IntPredicate;

/**
 * The vhosts of one load-balanced group in vhid order (OpenBSD's carpnodes, docs/protocols/carp.md
 * §4.8): index i is the i-th smallest vhid, the first is the leader. Each vhost runs its own
 * election; the nftables rules ({@code LoadShareRules}) map traffic to an index here.
 */
public final class VhidOrder {
  public static final int MAX_NODES = AgentLimits.CARP_NODES_MAX;
  private final int[] vhids;

  public VhidOrder(Collection<Integer> vhids) {
    int[] sorted = vhids.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
    if (sorted.length == 0 || sorted.length > MAX_NODES) {
      throw new IllegalArgumentException("need 1.." + MAX_NODES + " vhids, got " + sorted.length);
    }
    for (int v : sorted) {
      CarpAdvert.checkByte("vhid", v);
    }
    this.vhids = sorted;
  }

  public int count() {
    return vhids.length;
  }

  public int leader() {
    return vhids[0];
  }

  public int vhidAt(int index) {
    return vhids[index];
  }

  /** Index of {@code vhid}, or -1. */
  public int indexOf(int vhid) {
    int i = Arrays.binarySearch(vhids, vhid);
    return i < 0 ? -1 : i;
  }

  public int[] vhids() {
    return vhids.clone();
  }

  /** OpenBSD's lsmask: bit i set when the i-th vhost (vhid order) is MASTER here. */
  public int mask(IntPredicate isLocalMaster) {
    int m = 0;
    for (int i = 0; i < vhids.length; i++) {
      if (isLocalMaster.test(vhids[i])) {
        m |= 1 << i;
      }
    }
    return m;
  }
}
