package dev.carpoperator.agent.carp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.carp.CarpEffect.Reannounce;
import dev.carpoperator.agent.carp.CarpEffect.Reclaim;
import dev.carpoperator.agent.carp.CarpEffect.ReleaseAddresses;
import dev.carpoperator.agent.carp.CarpEffect.SendAdvert;
import dev.carpoperator.agent.carp.CarpEffect.StateChanged;
import dev.carpoperator.agent.carp.CarpEffect.TakeOverAddresses;
import org.junit.jupiter.api.Test;

class CarpStateMachineTest {
  static final long S = 1_000_000_000L;
  static final long MS = 1_000_000L;
  static final int VHID = 5;
  static final long COOKIE = 0xc00c1eL;

  static CarpStateMachine machine(int advskew, boolean preempt) {
    return new CarpStateMachine(VhostConfig.of(VHID, 1, advskew, preempt), COOKIE);
  }

  static CarpAdvert advert(int advbase, int advskew, int demote) {
    return new CarpAdvert(VHID, advskew, demote, advbase, 99, new byte[20]);
  }

  static StateChanged change(CarpState from, CarpState to, TransitionReason reason) {
    return new StateChanged(VHID, from, to, reason);
  }

  /**
   * Drives a machine to MASTER by master-down timeout at t = 0 + master-down. Returns that time.
   */
  static long toMaster(CarpStateMachine m) {
    m.start(0);
    long t = m.nextDeadline().orElseThrow();
    m.tick(t);
    assertThat(m.state()).isEqualTo(CarpState.MASTER);
    return t;
  }

  /**
   * A backup whose master-down tick comes more than a whole interval late was not running (SIGSTOP,
   * a paused VM): it waits one more interval, in which the master's adverts that waited in the
   * capture buffer keep it backup, instead of claiming the addresses for a few milliseconds (the
   * torture test's freeze finding, docs/torture.md).
   */
  @Test
  void aBackupThatWasNotRunningWaitsOneMoreIntervalBeforeClaimingMaster() {
    CarpStateMachine m = machine(100, false);
    m.start(0);
    long interval = m.masterDownIntervalNanos();
    long resumed = interval + interval + 5 * S; // frozen for 5 s past the deadline
    assertThat(m.tick(resumed)).isEmpty();
    assertThat(m.state()).isEqualTo(CarpState.BACKUP);
    assertThat(m.nextDeadline()).hasValue(resumed + interval);
    // the master's adverts, delivered after the resume, keep it backup
    assertThat(m.advertReceived(resumed + 10 * MS, advert(1, 0, 0))).isEmpty();
    assertThat(m.state()).isEqualTo(CarpState.BACKUP);
  }

  /** ...and a master that is really gone costs that one interval, once. */
  @Test
  void aLateTickReArmsOnlyOnce() {
    CarpStateMachine m = machine(100, false);
    m.start(0);
    long interval = m.masterDownIntervalNanos();
    long resumed = 3 * interval;
    m.tick(resumed);
    assertThat(m.state()).isEqualTo(CarpState.BACKUP);
    long later = resumed + 3 * interval; // late again: no second re-arm
    assertThat(m.tick(later))
        .startsWith(
            change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.MASTER_DOWN_TIMEOUT));
    // a tick late by less than an interval is an ordinary timeout
    CarpStateMachine n = machine(100, false);
    n.start(0);
    n.tick(interval + interval / 2);
    assertThat(n.state()).isEqualTo(CarpState.MASTER);
  }

  @Test
  void startupBackupThenMasterAfterMasterDown() {
    CarpStateMachine m = machine(100, false);
    assertThat(m.state()).isEqualTo(CarpState.INIT);
    assertThat(m.nextDeadline()).isEmpty();

    assertThat(m.start(0))
        .containsExactly(change(CarpState.INIT, CarpState.BACKUP, TransitionReason.STARTUP));
    // FreeBSD/ucarp master-down: 3 * advbase + advskew/256 = 3.390625 s (OpenBSD would be 4.171875
    // s).
    assertThat(m.masterDownIntervalNanos()).isEqualTo(3_390_625_000L);
    assertThat(m.advertIntervalNanos()).isEqualTo(1_390_625_000L);
    assertThat(m.nextDeadline()).hasValue(3_390_625_000L);

    assertThat(m.tick(3_390_624_999L)).isEmpty();
    assertThat(m.state()).isEqualTo(CarpState.BACKUP);
    long t = 3_390_625_000L;
    assertThat(m.tick(t))
        .containsExactly(
            change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.MASTER_DOWN_TIMEOUT),
            new SendAdvert(VHID, 1, 100, 0, COOKIE),
            new TakeOverAddresses(VHID));
    assertThat(m.nextDeadline()).hasValue(t + 1_390_625_000L);
  }

  @Test
  void masterAdvertisesEveryIntervalAndReannouncesAfterTwoMoreAdverts() {
    CarpStateMachine m = machine(0, false);
    long t = toMaster(m);
    assertThat(m.tick(t + S - 1)).isEmpty();
    assertThat(m.tick(t + S)).containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE));
    assertThat(m.tick(t + 2 * S))
        .containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE), new Reannounce(VHID));
    for (int i = 3; i < 10; i++) {
      assertThat(m.tick(t + i * S)).containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE));
    }
    // A late tick re-arms relative to when the advert actually went out.
    assertThat(m.tick(t + 10 * S + 300 * MS)).hasSize(1);
    assertThat(m.nextDeadline()).hasValue(t + 11 * S + 300 * MS);
  }

  /**
   * The torture run's stale-neighbour finding (docs/torture.md): a master frozen past master-down
   * comes back still MASTER while a backup has taken over and announced the VIP with its own MAC.
   * The returning master must answer the rival's adverts with its own and announce the addresses
   * again, or neighbours keep sending to the other node, which forwards until it fails.
   */
  @Test
  void masterHearingALessPreferredMasterAdvertisesAndAnnouncesAgain() {
    CarpStateMachine m = machine(0, false);
    long t = toMaster(m);
    long heard = t + 100 * MS;
    assertThat(m.advertReceived(heard, advert(1, 100, 0)))
        .containsExactly(
            new Reclaim(VHID), new SendAdvert(VHID, 1, 0, 0, COOKIE), new Reannounce(VHID));
    assertThat(m.state()).isEqualTo(CarpState.MASTER);
    // at most once per advert interval
    assertThat(m.advertReceived(heard + 200 * MS, advert(1, 100, 0))).isEmpty();
    // announced once more with the next timer advert (after any announcement the rival sent)
    assertThat(m.tick(heard + S))
        .containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE), new Reannounce(VHID));
    assertThat(m.tick(heard + 2 * S)).containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE));
    // a rival still heard an interval later is answered again
    assertThat(m.advertReceived(heard + 2 * S + 10 * MS, advert(1, 100, 0)))
        .containsExactly(
            new Reclaim(VHID), new SendAdvert(VHID, 1, 0, 0, COOKIE), new Reannounce(VHID));
    // a more preferred master still wins
    assertThat(m.advertReceived(heard + 3 * S, advert(0, 255, 0)))
        .contains(
            change(CarpState.MASTER, CarpState.BACKUP, TransitionReason.HIGHER_PRIORITY_MASTER));
  }

  /**
   * In the fast profile (intervals of tens of ms) a rival that keeps advertising is answered once a
   * second.
   */
  @Test
  void fastProfileReclaimsAtMostOnceASecond() {
    CarpStateMachine m = new CarpStateMachine(VhostConfig.fast(VHID, 10, false), COOKIE);
    m.start(0);
    long t = m.nextDeadline().orElseThrow();
    m.tick(t);
    assertThat(m.state()).isEqualTo(CarpState.MASTER);
    long reclaims = 0;
    for (long at = t + MS; at < t + 3 * S; at += 40 * MS) {
      reclaims +=
          m.advertReceived(at, advert(0, 100, 0)).stream()
              .filter(e -> e instanceof Reclaim)
              .count();
    }
    assertThat(reclaims).isEqualTo(3); // at about t, t + 1 s, t + 2 s
    assertThat(m.state()).isEqualTo(CarpState.MASTER);
  }

  /** A master whose advert timer fires more than an interval late was frozen: same reclaim. */
  @Test
  void masterWhoseAdvertComesLateByMoreThanAnIntervalAnnouncesAgain() {
    CarpStateMachine m = machine(0, false);
    long t = toMaster(m);
    assertThat(m.tick(t + S)).containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE));
    long resumed = t + 2 * S + 5 * S; // frozen 5 s past the deadline
    assertThat(m.tick(resumed))
        .containsExactly(
            new Reclaim(VHID), new SendAdvert(VHID, 1, 0, 0, COOKIE), new Reannounce(VHID));
    assertThat(m.tick(resumed + S))
        .containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE), new Reannounce(VHID));
    assertThat(m.tick(resumed + 2 * S)).containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE));
    // late by less than an interval: an ordinary advert
    assertThat(m.tick(resumed + 3 * S + 900 * MS))
        .containsExactly(new SendAdvert(VHID, 1, 0, 0, COOKIE));
  }

  @Test
  void backupWithoutPreemptStaysAndIsKeptQuietByAdverts() {
    CarpStateMachine m = machine(0, false);
    m.start(0);
    for (long t = S; t < 20 * S; t += S) {
      assertThat(m.advertReceived(t, advert(1, 100, 0))).isEmpty();
      assertThat(m.nextDeadline()).hasValue(t + 3 * S);
    }
    assertThat(m.state()).isEqualTo(CarpState.BACKUP);
  }

  @Test
  void backupWithPreemptTakesOverFromSlowerMaster() {
    CarpStateMachine m = machine(0, true);
    m.start(0);
    assertThat(m.advertReceived(S, advert(1, 100, 0)))
        .containsExactly(
            change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.PREEMPT),
            new SendAdvert(VHID, 1, 0, 0, COOKIE),
            new TakeOverAddresses(VHID));
  }

  @Test
  void preemptCanBeTurnedOnAndOffWhileRunning() {
    CarpStateMachine m = machine(0, false);
    m.start(0);
    assertThat(m.advertReceived(S, advert(1, 100, 0))).isEmpty(); // a slower master: no preempt yet
    m.setPreempt(true);
    assertThat(m.state()).isEqualTo(CarpState.BACKUP); // nothing happens until the next advert
    assertThat(m.config().preempt()).isTrue();
    assertThat(m.advertReceived(2 * S, advert(1, 100, 0)))
        .containsExactly(
            change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.PREEMPT),
            new SendAdvert(VHID, 1, 0, 0, COOKIE),
            new TakeOverAddresses(VHID));

    CarpStateMachine b = machine(0, true);
    b.start(0);
    b.setPreempt(false);
    assertThat(b.advertReceived(S, advert(1, 100, 0))).isEmpty();
    assertThat(b.state()).isEqualTo(CarpState.BACKUP);
  }

  @Test
  void preemptNeedsStrictlyFasterTimingAndNoWorseDemotion() {
    CarpStateMachine m = machine(100, true);
    m.start(0);
    assertThat(m.advertReceived(S, advert(1, 100, 0))).isEmpty(); // equal tv
    assertThat(m.advertReceived(S, advert(1, 50, 0))).isEmpty(); // faster master
    m.demotionChanged(S, 1, false);
    assertThat(m.advertReceived(S, advert(1, 200, 0))).isEmpty(); // slower but less demoted master
    assertThat(m.state()).isEqualTo(CarpState.BACKUP);
    assertThat(m.advertReceived(S, advert(1, 200, 1)).getFirst())
        .isEqualTo(change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.PREEMPT));
  }

  @Test
  void masterStepsDownWhenLowerAdvskewMasterReturns() {
    CarpStateMachine m = machine(100, false);
    long t = toMaster(m);
    // slower: we stay, and answer (once per interval, see
    // masterHearingALessPreferredMasterAdvertisesAndAnnouncesAgain)
    assertThat(m.advertReceived(t + 1, advert(1, 200, 0)))
        .containsExactly(
            new Reclaim(VHID), new SendAdvert(VHID, 1, 100, 0, COOKIE), new Reannounce(VHID));
    assertThat(m.advertReceived(t + 2, advert(2, 0, 0)))
        .isEmpty(); // advbase 2 is slower than 1+100/256
    assertThat(m.state()).isEqualTo(CarpState.MASTER);
    assertThat(m.advertReceived(t + 3, advert(1, 0, 0)))
        .containsExactly(
            change(CarpState.MASTER, CarpState.BACKUP, TransitionReason.HIGHER_PRIORITY_MASTER),
            new ReleaseAddresses(VHID));
    assertThat(m.nextDeadline()).hasValue(t + 3 + m.masterDownIntervalNanos());
    // No adverts while BACKUP.
    assertThat(m.tick(t + 3 + S)).isEmpty();
  }

  @Test
  void equalTimingAndDemotionBothStepDown() {
    CarpStateMachine m = machine(50, true);
    long t = toMaster(m);
    assertThat(m.advertReceived(t + 1, advert(1, 50, 0)))
        .startsWith(
            change(CarpState.MASTER, CarpState.BACKUP, TransitionReason.EQUAL_PRIORITY_MASTER));
    // ...and then, as BACKUP with the same timing, it neither preempts nor takes over.
    assertThat(m.advertReceived(t + 2, advert(1, 50, 0))).isEmpty();
  }

  @Test
  void bowOutMakesBackupTakeOverAtOnce() {
    CarpStateMachine m = machine(200, false);
    m.start(0);
    assertThat(m.advertReceived(S, advert(255, 255, 0)))
        .containsExactly(
            change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.BOW_OUT_RECEIVED),
            new SendAdvert(VHID, 1, 200, 0, COOKIE),
            new TakeOverAddresses(VHID));
  }

  @Test
  void masterTooSlowRuleForNonBowOut() {
    CarpStateMachine m = machine(200, false);
    m.start(0);
    // Our master-down is 3 + 200/256 s; a master advertising every 4 s would time out anyway.
    assertThat(m.advertReceived(S, advert(4, 0, 0)).getFirst())
        .isEqualTo(change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.MASTER_TOO_SLOW));
    CarpStateMachine m2 = machine(200, false);
    m2.start(0);
    assertThat(m2.advertReceived(S, advert(3, 199, 0)))
        .isEmpty(); // 3 + 199/256 < 3 + 200/256: not too slow
  }

  @Test
  void shutdownSendsOneBowOutAndReleases() {
    CarpStateMachine m = machine(0, false);
    long t = toMaster(m);
    m.demotionChanged(t, 3, false);
    assertThat(m.shutdown(t + 10))
        .containsExactly(
            new SendAdvert(VHID, 255, 255, 3, COOKIE),
            change(CarpState.MASTER, CarpState.INIT, TransitionReason.SHUTDOWN),
            new ReleaseAddresses(VHID));
    assertThat(new SendAdvert(VHID, 255, 255, 0, 0).isBowOut()).isTrue();
    assertThat(m.nextDeadline()).isEmpty();
    assertThat(m.shutdown(t + 20)).isEmpty(); // already INIT: nothing more is sent

    CarpStateMachine backup = machine(0, false);
    backup.start(0);
    // A backup leaves without a bow-out (OpenBSD bows out MASTER vhosts only): with three or more
    // nodes, a
    // backup's bow-out would make the other backups take over from the running master.
    assertThat(backup.shutdown(S))
        .containsExactly(change(CarpState.BACKUP, CarpState.INIT, TransitionReason.SHUTDOWN));
    // A shut-down vhost does not come back on link-up.
    assertThat(backup.linkUp(2 * S)).isEmpty();
  }

  @Test
  void demotionBeatsAdvskew() {
    // A less-demoted backup takes over even without preempt and with a worse advskew.
    CarpStateMachine backup = machine(200, false);
    backup.start(0);
    assertThat(backup.advertReceived(S, advert(1, 0, 1)).getFirst())
        .isEqualTo(change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.PEER_DEMOTED));

    // A demoted master steps down to a slower but less-demoted one.
    CarpStateMachine master = machine(0, false);
    long t = toMaster(master);
    master.demotionChanged(t, 1, true);
    assertThat(master.advertReceived(t + 1, advert(1, 200, 0)))
        .containsExactly(
            change(CarpState.MASTER, CarpState.BACKUP, TransitionReason.DEMOTED),
            new ReleaseAddresses(VHID));

    // An undemoted master stays master over a faster but demoted one (and answers it).
    CarpStateMachine m3 = machine(100, false);
    long t3 = toMaster(m3);
    assertThat(m3.advertReceived(t3 + 1, advert(1, 0, 5)))
        .containsExactly(
            new Reclaim(VHID), new SendAdvert(VHID, 1, 100, 0, COOKIE), new Reannounce(VHID));
    assertThat(m3.state()).isEqualTo(CarpState.MASTER);

    // A demoted backup with preempt does not preempt a slower, undemoted master.
    CarpStateMachine m4 = machine(0, true);
    m4.start(0);
    m4.demotionChanged(0, 128, false);
    assertThat(m4.advertReceived(S, advert(1, 200, 0))).isEmpty();
    assertThat(m4.state()).isEqualTo(CarpState.BACKUP);
  }

  @Test
  void demotionAnnounceSendsAdvertOnlyWhenMaster() {
    CarpStateMachine m = machine(0, false);
    m.start(0);
    assertThat(m.demotionChanged(S, 1, true)).isEmpty();
    long t = m.nextDeadline().orElseThrow();
    assertThat(m.tick(t)).contains(new SendAdvert(VHID, 1, 0, 1, COOKIE));
    assertThat(m.demotionChanged(t + 100 * MS, 500, true))
        .containsExactly(new SendAdvert(VHID, 1, 0, 255, COOKIE));
    assertThat(m.demotion()).isEqualTo(255);
    assertThat(m.nextDeadline()).hasValue(t + 100 * MS + S); // the extra advert re-arms the timer
    assertThat(m.demotionChanged(t + 200 * MS, 0, false)).isEmpty();
    assertThat(m.demotionChanged(t + 200 * MS, -4, false)).isEmpty();
    assertThat(m.demotion()).isZero();
  }

  @Test
  void linkDownGoesToInitAndLinkUpRestarts() {
    CarpStateMachine m = machine(0, false);
    long t = toMaster(m);
    assertThat(m.linkDown(t + 1))
        .containsExactly(
            change(CarpState.MASTER, CarpState.INIT, TransitionReason.LINK_DOWN),
            new ReleaseAddresses(VHID));
    assertThat(m.nextDeadline()).isEmpty();
    assertThat(m.advertReceived(t + 2, advert(255, 255, 0))).isEmpty();
    assertThat(m.tick(t + 100 * S)).isEmpty();
    assertThat(m.start(t + 3)).isEmpty(); // suppressed while the link is down
    assertThat(m.linkUp(t + 4))
        .containsExactly(change(CarpState.INIT, CarpState.BACKUP, TransitionReason.LINK_UP));
    assertThat(m.nextDeadline()).hasValue(t + 4 + 3 * S);
  }

  @Test
  void initIgnoresAdvertsAndOtherVhidsAreIgnored() {
    CarpStateMachine m = machine(0, true);
    assertThat(m.advertReceived(0, advert(1, 200, 0))).isEmpty();
    m.start(0);
    assertThat(m.advertReceived(1, new CarpAdvert(VHID + 1, 255, 0, 255, 1, new byte[20])))
        .isEmpty();
    assertThat(m.state()).isEqualTo(CarpState.BACKUP);
  }

  @Test
  void fastProfileTimings() {
    CarpStateMachine m = new CarpStateMachine(VhostConfig.fast(VHID, 10, false), COOKIE);
    assertThat(m.advertIntervalNanos()).isEqualTo(39_062_500L); // 10/256 s
    assertThat(m.masterDownIntervalNanos()).isEqualTo(117_187_500L); // 3 * 10/256 s
    m.start(0);
    assertThat(m.tick(117_187_499L)).isEmpty();
    assertThat(m.tick(117_187_500L)).contains(new SendAdvert(VHID, 0, 10, 0, COOKIE));
    assertThat(m.nextDeadline()).hasValue(117_187_500L + 39_062_500L);

    // After hearing a master, master-down follows the master's interval (VRRPv3's
    // Master_Down_Interval):
    // 3 * 100/256 s + 10/256 of that interval. Without that, this backup (3 * 10/256 s) would time
    // out between
    // two adverts of the healthy master.
    long masterDown =
        300 * CarpStateMachine.NANOS_PER_TICK256
            + 10 * 100 * CarpStateMachine.NANOS_PER_TICK256 / 256;
    assertThat(masterDown).isEqualTo(1_187_133_789L); // 1.172 s + 15.3 ms
    CarpStateMachine b = new CarpStateMachine(VhostConfig.fast(VHID, 10, false), COOKIE);
    b.start(0);
    assertThat(b.advertReceived(MS, advert(0, 100, 0))).isEmpty();
    assertThat(b.nextDeadline()).hasValue(MS + masterDown);
    assertThat(b.tick(MS + masterDown - 1)).isEmpty();
    assertThat(b.state()).isEqualTo(CarpState.BACKUP);
    assertThat(b.tick(MS + masterDown).getFirst())
        .isEqualTo(
            change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.MASTER_DOWN_TIMEOUT));
    // Stepping down from MASTER also adopts the winner's pace: 3 * 5/256 s + 10/256 of 5/256 s.
    assertThat(b.advertReceived(2 * S, advert(0, 5, 0)).getFirst())
        .isEqualTo(
            change(CarpState.MASTER, CarpState.BACKUP, TransitionReason.HIGHER_PRIORITY_MASTER));
    assertThat(b.nextDeadline())
        .hasValue(
            2 * S
                + 15 * CarpStateMachine.NANOS_PER_TICK256
                + 10 * 5 * CarpStateMachine.NANOS_PER_TICK256 / 256);

    // Backups behind the same master time out in advskew order, each within 3.25 of the master's
    // intervals here.
    CarpStateMachine early = new CarpStateMachine(VhostConfig.fast(VHID, 52, false), COOKIE);
    CarpStateMachine late = new CarpStateMachine(VhostConfig.fast(VHID, 53, false), COOKIE);
    early.start(0);
    late.start(0);
    early.advertReceived(MS, advert(0, 26, 0));
    late.advertReceived(MS, advert(0, 26, 0));
    assertThat(early.nextDeadline().getAsLong()).isLessThan(late.nextDeadline().getAsLong());
    assertThat(late.nextDeadline().getAsLong() - MS)
        .isLessThan(325 * 26 * CarpStateMachine.NANOS_PER_TICK256 / 100);

    // Preempt keeps its meaning: no "master too slow" takeover, only preempt or a bow-out.
    CarpStateMachine p = new CarpStateMachine(VhostConfig.fast(VHID, 10, true), COOKIE);
    p.start(0);
    assertThat(p.advertReceived(MS, advert(0, 100, 0)).getFirst())
        .isEqualTo(change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.PREEMPT));
    CarpStateMachine d = new CarpStateMachine(VhostConfig.fast(VHID, 10, false), COOKIE);
    d.start(0);
    d.demotionChanged(0, 1, false);
    assertThat(d.advertReceived(MS, advert(0, 200, 0))).isEmpty(); // demoted: must not flap
    assertThat(d.advertReceived(2 * MS, advert(255, 255, 0)).getFirst())
        .isEqualTo(change(CarpState.BACKUP, CarpState.MASTER, TransitionReason.BOW_OUT_RECEIVED));
  }

  @Test
  void fastProfileClampsTheIntervalItLearnsFromAnAdvert() {
    long tick = CarpStateMachine.NANOS_PER_TICK256;
    // 255/254 is not a bow-out: unclamped, master-down would be 3 * 65,534/256 s, about 13 minutes
    CarpStateMachine slow = new CarpStateMachine(VhostConfig.fast(VHID, 10, false), COOKIE);
    slow.start(0);
    assertThat(slow.advertReceived(MS, advert(255, 254, 0))).isEmpty();
    assertThat(slow.nextDeadline()).hasValue(MS + 3 * 255 * tick + 10 * 255 * tick / 256);
    // 0/0: unclamped, master-down would be 0 and the backup would take over at once, after every
    // advert
    CarpStateMachine fast = new CarpStateMachine(VhostConfig.fast(VHID, 10, false), COOKIE);
    fast.start(0);
    assertThat(fast.advertReceived(MS, advert(0, 0, 0))).isEmpty();
    assertThat(fast.nextDeadline()).hasValue(MS + 3 * tick + 10 * tick / 256);
    assertThat(fast.tick(MS + 1)).isEmpty();
    assertThat(fast.state()).isEqualTo(CarpState.BACKUP);
  }

  @Test
  void configValidation() {
    assertThatThrownBy(() -> VhostConfig.of(5, 0, 10, false)).hasMessageContaining("fast profile");
    assertThatThrownBy(() -> VhostConfig.fast(5, 0, false)).hasMessageContaining("advskew >= 1");
    assertThatThrownBy(() -> new VhostConfig(5, 1, 10, false, true))
        .hasMessageContaining("advbase 0");
    assertThatThrownBy(() -> VhostConfig.of(0, 1, 0, false)).hasMessageContaining("vhid");
    assertThatThrownBy(() -> VhostConfig.of(256, 1, 0, false)).hasMessageContaining("vhid");
    assertThatThrownBy(() -> VhostConfig.of(1, 1, 255, false)).hasMessageContaining("advskew");
    assertThatThrownBy(() -> VhostConfig.of(1, 256, 0, false)).hasMessageContaining("advbase");
    assertThat(VhostConfig.of(1, 255, 254, false).masterDownInterval256())
        .isEqualTo(3 * 255 * 256 + 254);
  }

  @Test
  void deadlinesSurviveNanoTimeWrapAround() {
    CarpStateMachine m = machine(0, false);
    long start = Long.MAX_VALUE - S;
    m.start(start);
    long deadline = m.nextDeadline().orElseThrow();
    assertThat(deadline).isNegative(); // wrapped
    assertThat(m.tick(start + S)).isEmpty();
    assertThat(m.tick(deadline)).isNotEmpty();
    assertThat(m.state()).isEqualTo(CarpState.MASTER);
  }

  /**
   * The advert a machine asks for, encoded with the vhost HMAC, passes another node's validator.
   */
  @Test
  void sendAdvertEncodesToAValidPacket() {
    CarpHmac hmac = CarpHmac.of("pw", VHID, CarpHmacTest.addrs("192.0.2.1"));
    CarpStateMachine m = machine(42, false);
    long t = toMaster(m);
    SendAdvert send = (SendAdvert) m.tick(t + m.advertIntervalNanos()).getFirst();
    byte[] wire = send.encode(hmac);
    AdvertValidator other =
        new AdvertValidator(
            v -> v == VHID ? new VhostKeys(hmac, 1234) : null, new RejectionCounters());
    ValidationResult r = other.validate(new InboundPacket(255, null, null, wire));
    assertThat(r)
        .isInstanceOfSatisfying(
            ValidationResult.Accepted.class,
            a -> {
              assertThat(a.advert().advskew()).isEqualTo(42);
              assertThat(a.advert().counter()).isEqualTo(COOKIE);
            });
    // ...and is recognised as a loop by ourselves.
    AdvertValidator self =
        new AdvertValidator(v -> new VhostKeys(hmac, COOKIE), new RejectionCounters());
    assertThat(self.validate(new InboundPacket(255, null, null, wire)))
        .isEqualTo(new ValidationResult.Rejected(RejectReason.LOOP));
  }
}
