package dev.carpoperator.agent.carp;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The CARP election for one vhid (states INIT/BACKUP/MASTER), pure: no I/O, no threads, no clock.
 * Every event method takes {@code now} in nanoseconds from any monotonic source (e.g. {@link
 * System#nanoTime()}; deadlines are compared by subtraction so wrap-around is fine) and returns the
 * {@link CarpEffect}s to carry out, in order.
 *
 * <h2>Driving it</h2>
 *
 * <ol>
 *   <li>Call {@link #start} once the vhost is configured; {@link #linkDown}/{@link #linkUp} from
 *       link monitoring.
 *   <li>After every call, (re)schedule one wake-up at {@link #nextDeadline()} (if present) and call
 *       {@link #tick} then. Early or repeated ticks are harmless; late ones just act late.
 *   <li>Feed each {@link ValidationResult.Accepted} advert for this vhid to {@link
 *       #advertReceived}.
 *   <li>When the advertised demotion changes, call {@link #demotionChanged}.
 *   <li>Call {@link #shutdown} on clean exit and send the bow-out advert it returns before removing
 *       addresses.
 * </ol>
 *
 * Not thread-safe: drive each instance from one thread (the engine's event loop).
 *
 * <h2>Timers</h2>
 *
 * All times are exact multiples of 1/256 s = 3,906,250 ns.
 *
 * <ul>
 *   <li>Advert interval (MASTER): advbase + advskew/256 s, re-armed after every advert sent.
 *   <li>Master-down (BACKUP): <b>3 × advbase + advskew/256</b> s, FreeBSD's and ucarp's formula,
 *       not OpenBSD's 3 × (advbase + advskew/256). It is faster (3.39 s instead of 4.17 s for
 *       advbase 1, advskew 100), it equals ucarp's, our main interop peer, and it keeps backups
 *       ordered by advskew: the backup with the lowest advskew still times out first.
 *   <li>Fast profile (advbase 0): master-down is 3 × advskew/256 until a master has been heard;
 *       after an advert from a master whose interval is tv it is <b>3 × tv + (advskew/256) × tv</b>
 *       (VRRPv3's Master_Down_Interval, with our advskew in the place of 256 − priority; {@code
 *       fastMasterDownNanos}). Reason: with intervals of advskew/256, a backup whose 3 × advskew is
 *       below the master's advskew would otherwise time out between two adverts of a healthy
 *       master; when the master also has a lower demotion the backup cannot win and flaps
 *       (takeover, step-down, takeover… every few tens of ms), as the discrete-event simulation
 *       test shows.
 *   <li>Simplification: one master-down timer, re-armed by adverts of either address family
 *       (OpenBSD keeps one per family). A master reachable over only one family therefore keeps
 *       backups quiet for both.
 * </ul>
 *
 * <h2>Advert processing (OpenBSD current, docs/protocols/carp.md §4.3)</h2>
 *
 * With tv = advbase + advskew/256 and dem = demotion count (byte 4):
 *
 * <ul>
 *   <li>MASTER steps down when {@code (my_tv >= their_tv && their_dem <= my_dem) || their_dem <
 *       my_dem}. Ties (same tv and demotion) make both masters step down, as in the BSDs.
 *   <li>BACKUP, first match wins: (1) preempt && my_tv < their_tv && their_dem >= my_dem → MASTER;
 *       (2) their_dem > my_dem → MASTER; (3) our master-down interval < their_tv → MASTER (the
 *       master would time out anyway; this is what makes the 255/255 bow-out work); (4) re-arm
 *       master-down. In the fast profile rule 3 is reduced to "the advert is a bow-out" (OpenBSD
 *       drops rule 3 entirely when advbase is 0, which would make bow-outs useless): master-down
 *       there follows the master's interval, so no other master can be "too slow", and preempt
 *       keeps its meaning.
 *   <li>MASTER hearing a less preferred master (it took over while we were frozen or cut off)
 *       answers with an advert at once and announces the addresses again (now and with the next
 *       advert), as keepalived does: our neighbours follow MACs, not a virtual MAC. Likewise when
 *       MASTER's advert timer fires more than an interval late.
 *   <li>INIT ignores adverts.
 * </ul>
 *
 * Our own advskew is used as configured; demotion travels only in the demote byte (OpenBSD
 * current).
 */
public final class CarpStateMachine {
  /** 1/256 s in nanoseconds (exact: 10^9 / 2^8). */
  public static final long NANOS_PER_TICK256 = 3_906_250L;

  /**
   * The range of intervals (1/256 s) a fast-profile master can advertise; a received one is clamped
   * to it.
   */
  static final int FAST_MIN_TV256 = 1;

  static final int FAST_MAX_TV256 = 255;

  /** OpenBSD's sc_delayed_arp: re-announce after this many further adverts. */
  static final int DELAYED_REANNOUNCE_ADVERTS = 2;

  public static final int MAX_DEMOTE = 255;

  private VhostConfig config;
  private final long replayCookie;
  private final long advertIntervalNanos;
  private final long masterDownNanos;

  private CarpState state = CarpState.INIT;
  private boolean adminUp;
  private boolean linkUp = true;
  private int demotion;

  private boolean advertArmed;
  private long advertDeadline;
  private boolean masterDownArmed;
  private long masterDownDeadline;
  private long masterDownInterval; // of the current arming
  private boolean rearmedAfterStall; // the current master-down was re-armed once after a stall

  /** Adverts still to send before the delayed re-announce; -1 when none is pending. */
  private int reannounceCountdown = -1;

  /**
   * {@link #reclaim} runs at most once per advert interval and never twice within this (1 s): in
   * the fast profile an interval is a few tens of ms, and each reclaim costs an announcement and a
   * pass over the node's connection table.
   */
  static final long RECLAIM_MIN_GAP_NANOS = 256 * NANOS_PER_TICK256;

  /** When {@link #reclaim} last ran. */
  private boolean reclaimed;

  private long reclaimedAt;

  /**
   * @param replayCookie this vhost's constant counter ({@link ReplayCookie#draw}); the validator
   *     must get the same
   */
  public CarpStateMachine(VhostConfig config, long replayCookie) {
    this.config = Objects.requireNonNull(config, "config");
    this.replayCookie = replayCookie;
    this.advertIntervalNanos = config.advertInterval256() * NANOS_PER_TICK256;
    this.masterDownNanos = config.masterDownInterval256() * NANOS_PER_TICK256;
  }

  public VhostConfig config() {
    return config;
  }

  /**
   * Turns preemption on or off in place, like OpenBSD's {@code net.inet.carp.preempt} sysctl:
   * nothing is sent and no state changes now; the next advert received is judged with the new
   * setting.
   */
  public void setPreempt(boolean preempt) {
    config =
        new VhostConfig(
            config.vhid(), config.advbase(), config.advskew(), preempt, config.fastProfile());
  }

  public int vhid() {
    return config.vhid();
  }

  public CarpState state() {
    return state;
  }

  public long replayCookie() {
    return replayCookie;
  }

  /** The demotion count we advertise and compare with (0..255). */
  public int demotion() {
    return demotion;
  }

  public long advertIntervalNanos() {
    return advertIntervalNanos;
  }

  public long masterDownIntervalNanos() {
    return masterDownNanos;
  }

  /** The earliest armed timer; call {@link #tick} at (or after) it. Empty in INIT. */
  public OptionalLong nextDeadline() {
    if (advertArmed && masterDownArmed) {
      return OptionalLong.of(
          advertDeadline - masterDownDeadline <= 0 ? advertDeadline : masterDownDeadline);
    }
    if (advertArmed) {
      return OptionalLong.of(advertDeadline);
    }
    return masterDownArmed ? OptionalLong.of(masterDownDeadline) : OptionalLong.empty();
  }

  // ---------------------------------------------------------------- lifecycle events

  /**
   * Administrative up. INIT → BACKUP if the link is up and there are addresses; arms master-down.
   */
  public List<CarpEffect> start(long now) {
    adminUp = true;
    return setrun(now, TransitionReason.STARTUP);
  }

  /**
   * Administrative down / clean exit. If MASTER: one bow-out advert (advbase 255, advskew 255; a
   * backup that hears it takes over at once) and the addresses released; then INIT. A BACKUP leaves
   * silently, as OpenBSD's carp_vhe_send_ad_all (bow-out only from MASTER vhosts): its bow-out
   * would make every other backup take over while the real master runs (a dual master for up to an
   * advert interval, seen in the four-node torture run). The timer is not re-armed.
   */
  public List<CarpEffect> shutdown(long now) {
    adminUp = false;
    List<CarpEffect> out = new ArrayList<>(3);
    if (state != CarpState.INIT) {
      if (state == CarpState.MASTER)
        out.add(new CarpEffect.SendAdvert(vhid(), 255, 255, demotion, replayCookie));
      toInit(TransitionReason.SHUTDOWN, out);
    }
    return out;
  }

  /**
   * Parent link lost: INIT at once, nothing can be sent. (The engine also bumps the link-down
   * demotion.)
   */
  public List<CarpEffect> linkDown(long now) {
    linkUp = false;
    List<CarpEffect> out = new ArrayList<>(2);
    if (state != CarpState.INIT) {
      toInit(TransitionReason.LINK_DOWN, out);
    }
    return out;
  }

  public List<CarpEffect> linkUp(long now) {
    linkUp = true;
    return setrun(now, TransitionReason.LINK_UP);
  }

  // ---------------------------------------------------------------- timers

  /** Runs whatever timers are due at {@code now}. */
  public List<CarpEffect> tick(long now) {
    List<CarpEffect> out = new ArrayList<>(4);
    if (state == CarpState.MASTER && advertArmed && now - advertDeadline >= 0) {
      if (now - advertDeadline > advertIntervalNanos) {
        // Late by more than a whole interval: this process was not running, so another node may
        // have taken over meanwhile and pointed the neighbours at its own MAC.
        reclaim(now, out);
      } else {
        sendAdvert(now, out);
      }
    } else if (state == CarpState.BACKUP && masterDownArmed && now - masterDownDeadline >= 0) {
      if (now - masterDownDeadline > masterDownInterval && !rearmedAfterStall) {
        // Late by more than a whole interval: this process was not running (frozen, paused VM,
        // stalled), so the silence it measured proves nothing; the master's adverts may be waiting
        // in the capture buffer. Wait one more interval before claiming the addresses; a master
        // that is really gone costs that interval once.
        masterDownDeadline = now + masterDownInterval;
        rearmedAfterStall = true;
      } else {
        becomeMaster(now, TransitionReason.MASTER_DOWN_TIMEOUT, out);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- adverts and demotion

  /**
   * Processes a validated advert from another node (docs/protocols/carp.md §4.3). Adverts for other
   * vhids are ignored.
   */
  public List<CarpEffect> advertReceived(long now, CarpAdvert advert) {
    List<CarpEffect> out = new ArrayList<>(4);
    if (advert.vhid() != vhid()) {
      return out;
    }
    int myTv = config.advertInterval256();
    int theirTv = advert.tv256();
    int myDem = demotion;
    int theirDem = advert.demote();
    switch (state) {
      case INIT -> {}
      case MASTER -> {
        if (theirDem < myDem) {
          stepDown(now, TransitionReason.DEMOTED, out);
          armMasterDown(now, advert);
        } else if (myTv >= theirTv && theirDem <= myDem) {
          stepDown(
              now,
              myTv == theirTv && theirDem == myDem
                  ? TransitionReason.EQUAL_PRIORITY_MASTER
                  : TransitionReason.HIGHER_PRIORITY_MASTER,
              out);
          armMasterDown(now, advert);
        } else {
          // A less preferred node advertises as master: it took over while we were not heard and
          // announced the addresses with its MAC; it steps down when it hears us.
          reclaim(now, out);
        }
      }
      case BACKUP -> {
        if (config.preempt() && myTv < theirTv && theirDem >= myDem) {
          becomeMaster(now, TransitionReason.PREEMPT, out);
        } else if (theirDem > myDem) {
          becomeMaster(now, TransitionReason.PEER_DEMOTED, out);
        } else if (masterWillTimeOut(advert)) {
          becomeMaster(
              now,
              advert.isBowOut()
                  ? TransitionReason.BOW_OUT_RECEIVED
                  : TransitionReason.MASTER_TOO_SLOW,
              out);
        } else {
          armMasterDown(now, advert);
        }
      }
    }
    return out;
  }

  /**
   * The advertised demotion changed (sum of the vhost's group counters, see {@link
   * DemotionCounters}). Values are capped at 255. If {@code announce} (a counter went from 0 to
   * positive) and we are MASTER, an advert goes out now so peers learn within milliseconds; it also
   * re-arms the advert timer, as OpenBSD's carp_send_ad does.
   */
  public List<CarpEffect> demotionChanged(long now, int newDemotion, boolean announce) {
    demotion = Math.clamp(newDemotion, 0, MAX_DEMOTE);
    List<CarpEffect> out = new ArrayList<>(2);
    if (announce && state == CarpState.MASTER) {
      sendAdvert(now, out);
    }
    return out;
  }

  // ---------------------------------------------------------------- internals

  private List<CarpEffect> setrun(long now, TransitionReason reason) {
    List<CarpEffect> out = new ArrayList<>(1);
    if (state == CarpState.INIT && adminUp && linkUp) {
      change(CarpState.BACKUP, reason, out);
      armMasterDown(now);
    }
    return out;
  }

  private void becomeMaster(long now, TransitionReason reason, List<CarpEffect> out) {
    change(CarpState.MASTER, reason, out);
    masterDownArmed = false;
    out.add(
        new CarpEffect.SendAdvert(
            vhid(), config.advbase(), config.advskew(), demotion, replayCookie));
    out.add(new CarpEffect.TakeOverAddresses(vhid()));
    // Set after the immediate advert, so the re-announce rides on the second *timer* advert
    // (OpenBSD order).
    reannounceCountdown = DELAYED_REANNOUNCE_ADVERTS;
    armAdvert(now);
  }

  private void stepDown(long now, TransitionReason reason, List<CarpEffect> out) {
    change(CarpState.BACKUP, reason, out);
    out.add(new CarpEffect.ReleaseAddresses(vhid()));
    advertArmed = false;
    reannounceCountdown = -1;
    armMasterDown(now);
  }

  private void toInit(TransitionReason reason, List<CarpEffect> out) {
    CarpState from = state;
    change(CarpState.INIT, reason, out);
    if (from == CarpState.MASTER) {
      out.add(new CarpEffect.ReleaseAddresses(vhid()));
    }
    advertArmed = false;
    masterDownArmed = false;
    reannounceCountdown = -1;
  }

  /**
   * We are MASTER but another node may have been master meanwhile (we were frozen, partitioned, or
   * it read stale adverts): an advert now, so it steps down, and the addresses announced again now
   * and with the next timer advert, because neighbours follow the last announcement and the other
   * node, still a router, would go on forwarding what they send it until it fails. keepalived does
   * the same on a lower-priority advert; the BSDs need not, their neighbours see the virtual MAC
   * move with the adverts. At most once per advert interval (and once a second), so a rival that
   * cannot hear us (a one-way link) costs one extra advert and announcement per interval, not one
   * per advert of its.
   */
  private void reclaim(long now, List<CarpEffect> out) {
    if (reclaimed && now - reclaimedAt < Math.max(advertIntervalNanos, RECLAIM_MIN_GAP_NANOS)) {
      return;
    }
    reclaimed = true;
    reclaimedAt = now;
    reannounceCountdown = -1;
    out.add(new CarpEffect.Reclaim(vhid()));
    sendAdvert(now, out);
    out.add(new CarpEffect.Reannounce(vhid()));
    // once more after any announcement the other node sent after its advert
    reannounceCountdown = 1;
  }

  private void sendAdvert(long now, List<CarpEffect> out) {
    out.add(
        new CarpEffect.SendAdvert(
            vhid(), config.advbase(), config.advskew(), demotion, replayCookie));
    if (reannounceCountdown > 0 && --reannounceCountdown == 0) {
      out.add(new CarpEffect.Reannounce(vhid()));
      reannounceCountdown = -1;
    }
    armAdvert(now);
  }

  private void change(CarpState to, TransitionReason reason, List<CarpEffect> out) {
    out.add(new CarpEffect.StateChanged(vhid(), state, to, reason));
    state = to;
  }

  private void armAdvert(long now) {
    advertArmed = true;
    advertDeadline = now + advertIntervalNanos;
  }

  private void armMasterDown(long now) {
    armMasterDownFor(now, masterDownNanos);
  }

  private void armMasterDownFor(long now, long interval) {
    masterDownArmed = true;
    masterDownInterval = interval;
    masterDownDeadline = now + interval;
    rearmedAfterStall = false;
  }

  /**
   * Re-arms master-down after hearing {@code master}; the fast profile adapts to the master's own
   * interval.
   */
  private void armMasterDown(long now, CarpAdvert master) {
    if (config.fastProfile()) {
      armMasterDownFor(now, fastMasterDownNanos(master));
    } else {
      armMasterDown(now);
    }
  }

  /**
   * Fast profile, after hearing a master: 3 × its interval + a skew of advskew/256 of its interval,
   * VRRPv3's Master_Down_Interval with advskew in the place of 256 − priority. The skew is a
   * fraction of one interval (not our own advskew/256 s, a whole interval of ours) so that a
   * failover takes 3–3.2 intervals, and backups still time out in advskew order.
   */
  private long fastMasterDownNanos(CarpAdvert master) {
    // Clamped to what a fast-profile master can advertise (advbase 0, advskew 1-255): an altered or
    // misconfigured
    // advert of 0/0 would make this backup time out every few ms, one of 255/254 would keep it
    // waiting 13 minutes.
    long tv = Math.clamp(master.tv256(), FAST_MIN_TV256, FAST_MAX_TV256);
    return 3L * tv * NANOS_PER_TICK256 + config.advskew() * tv * NANOS_PER_TICK256 / 256;
  }

  /**
   * BACKUP rule 3. BSD profile: our master-down is shorter than the master's interval (true for any
   * bow-out while advbase < 85). Fast profile: only the bow-out, because there master-down follows
   * the master's interval and so can never be shorter than it.
   */
  private boolean masterWillTimeOut(CarpAdvert advert) {
    return config.fastProfile()
        ? advert.isBowOut()
        : config.masterDownInterval256() < advert.tv256();
  }

  @Override
  public String toString() {
    return "CarpStateMachine[vhid=" + vhid() + ", state=" + state + ", demotion=" + demotion + "]";
  }
}
