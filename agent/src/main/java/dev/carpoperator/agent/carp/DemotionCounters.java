package dev.carpoperator.agent.carp;

import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * OpenBSD-style demotion counters (docs/protocols/carp.md §4.4): named interface groups, each with
 * one counter per {@link Reason}. A vhost advertises the sum over the groups it belongs to, always
 * including {@value #CARP_GROUP}, capped at 255. A lower advertised demotion wins elections before
 * advskew is even looked at.
 *
 * <p>When a group's total goes from 0 to positive, every MASTER vhost in that group should
 * advertise at once so peers notice within milliseconds: {@link Change#announce()} says so, and the
 * engine passes it to {@link CarpStateMachine#demotionChanged}. (OpenBSD fires only when a positive
 * adjustment lands on exactly 1; we fire on any 0 → positive, so a first +32 or +128 is announced
 * too.)
 *
 * <p>Not modelled: OpenBSD's per-interface {@code sc_demote_cnt} fallback used when all group sums
 * are 0. Thread-safe (synchronized): link monitoring, the admin API and the sync code may adjust
 * from different threads.
 */
public final class DemotionCounters {
  public static final String CARP_GROUP = "carp";
  public static final int MAX_ADVERTISED = 255;

  /** Why a group is demoted. Suggested weights follow OpenBSD. */
  public enum Reason {
    /** Agent starting, not ready yet (OpenBSD's rc uses +128 until boot finishes). */
    STARTUP,
    /** Parent link of a carp interface down (+1 per interface, −1 when it recovers). */
    LINK_DOWN,
    /**
     * State-sync bulk update pending (OpenBSD pfsync: +1 until the sync link is up, +32 during the
     * bulk).
     */
    SYNC_BULK,
    /** Operator maintenance ({@code carpdemote n}). */
    ADMIN,
    /** Failing health checks of an address: the sum of their weights, in that vhid's group. */
    HEALTH_CHECK
  }

  /**
   * Result of an adjustment.
   *
   * @param announce the group's total went from 0 to positive: MASTER vhosts in the group should
   *     advertise now
   */
  public record Change(
      String group,
      Reason reason,
      int counterAfter,
      long groupBefore,
      long groupAfter,
      boolean announce) {}

  private final Map<String, EnumMap<Reason, Integer>> groups = new HashMap<>();

  /**
   * Adds {@code delta} (may be negative) to one counter; the counter never goes below 0 nor
   * overflows.
   */
  public synchronized Change adjust(String group, Reason reason, int delta) {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(reason, "reason");
    EnumMap<Reason, Integer> counters =
        groups.computeIfAbsent(group, g -> new EnumMap<>(Reason.class));
    long before = total(counters);
    int old = counters.getOrDefault(reason, 0);
    int now = (int) Math.clamp((long) old + delta, 0L, Integer.MAX_VALUE);
    counters.put(reason, now);
    long after = total(counters);
    return new Change(group, reason, now, before, after, before == 0 && after > 0);
  }

  /** Sets one counter to an absolute value (≥ 0), e.g. to clear ADMIN. */
  public synchronized Change set(String group, Reason reason, int value) {
    if (value < 0) {
      throw new IllegalArgumentException("demotion counters are never negative");
    }
    int current = counter(group, reason);
    return adjust(group, reason, value - current);
  }

  public synchronized int counter(String group, Reason reason) {
    EnumMap<Reason, Integer> counters = groups.get(group);
    return counters == null ? 0 : counters.getOrDefault(reason, 0);
  }

  /** Uncapped sum of one group's counters. */
  public synchronized long groupTotal(String group) {
    EnumMap<Reason, Integer> counters = groups.get(group);
    return counters == null ? 0 : total(counters);
  }

  /**
   * What a vhost in these groups (plus {@value #CARP_GROUP}, counted once) advertises: the sum,
   * capped at 255.
   */
  public synchronized int advertised(Collection<String> vhostGroups) {
    long sum = groupTotal(CARP_GROUP);
    for (String g : vhostGroups) {
      if (!CARP_GROUP.equals(g)) {
        sum += groupTotal(g);
      }
    }
    return (int) Math.min(sum, MAX_ADVERTISED);
  }

  private static long total(EnumMap<Reason, Integer> counters) {
    long t = 0;
    for (int v : counters.values()) {
      t += v;
    }
    return t;
  }
}
