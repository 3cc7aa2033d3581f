package dev.carpoperator.agent.carp;

import dev.carpoperator.api.v1alpha1.AgentLimits;

/**
 * Election parameters of one vhost.
 *
 * <p>BSD profile ({@code fastProfile == false}): advbase 1..255, advskew 0..254, wire-compatible
 * with OpenBSD, FreeBSD and ucarp.
 *
 * <p>Fast profile ({@code fastProfile == true}): advbase must be 0 and advskew 1..254; the advert
 * interval is advskew/256 s (OpenBSD's formula advbase + advskew/256 with advbase 0); master-down
 * is 3 × advskew/256 s before a master has been heard, and 3 × tv + (advskew/256) × tv after
 * hearing a master whose interval is tv (see {@link CarpStateMachine}). Linux-only and <b>not BSD
 * wire-compatible</b>: ucarp accepts advbase 0 (it refuses only advbase and advskew both 0) but its
 * backup takes over between the adverts of such a master, and OpenBSD disables its "master will
 * time out" rule when its own advbase is 0, so mixed clusters would behave differently. Advskew 0
 * is refused because the interval would be 0.
 */
public record VhostConfig(
    int vhid, int advbase, int advskew, boolean preempt, boolean fastProfile) {

  public VhostConfig {
    if (!AgentLimits.within(vhid, AgentLimits.VHID_MIN, AgentLimits.VHID_MAX)) {
      throw new IllegalArgumentException("vhid must be 1..255, was " + vhid);
    }
    if (!AgentLimits.within(advskew, AgentLimits.ADVSKEW_MIN, AgentLimits.ADVSKEW_MAX)) {
      throw new IllegalArgumentException("advskew must be 0..254, was " + advskew);
    }
    if (fastProfile) {
      if (advbase != AgentLimits.ADVBASE_FAST) {
        throw new IllegalArgumentException("the fast profile requires advbase 0, was " + advbase);
      }
      if (advskew < AgentLimits.ADVSKEW_FAST_MIN) {
        throw new IllegalArgumentException(
            "the fast profile requires advskew >= 1 (interval advskew/256 s)");
      }
    } else if (!AgentLimits.within(advbase, AgentLimits.ADVBASE_BSD_MIN, AgentLimits.ADVBASE_MAX)) {
      throw new IllegalArgumentException(
          "advbase must be 1..255 (0 only in the fast profile), was " + advbase);
    }
  }

  /** BSD profile. */
  public static VhostConfig of(int vhid, int advbase, int advskew, boolean preempt) {
    return new VhostConfig(vhid, advbase, advskew, preempt, false);
  }

  /** Fast profile: interval advskew/256 s. */
  public static VhostConfig fast(int vhid, int advskew, boolean preempt) {
    return new VhostConfig(vhid, 0, advskew, preempt, true);
  }

  /** Advert interval in 1/256 s: advbase*256 + advskew (the "tv" compared with peers). */
  public int advertInterval256() {
    return advbase * 256 + advskew;
  }

  /**
   * Master-down interval in 1/256 s: FreeBSD/ucarp's 3 × advbase + advskew/256, or 3 × advskew/256
   * in the fast profile (only until a master is heard there). See {@link CarpStateMachine} for why
   * not OpenBSD's 3 × (advbase + advskew/256).
   */
  public int masterDownInterval256() {
    return fastProfile ? 3 * advskew : 3 * 256 * advbase + advskew;
  }
}
