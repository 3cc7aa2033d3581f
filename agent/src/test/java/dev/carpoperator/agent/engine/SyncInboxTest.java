package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.engine.SyncInbox.Input;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The overload path of the sync loop's queue, with a hand-run executor standing for the loop
 * thread.
 */
class SyncInboxTest {
  static final long SPACING = 1_000;

  /**
   * Made-up time for takeResync: far enough apart that the spacing does not hold a resync back,
   * unless a test says so.
   */
  long now = 1_000_000;

  /** The loop: tasks wait here until {@link #runOne} runs the oldest. */
  static final class ManualLoop implements Executor {
    final ArrayDeque<Runnable> queued = new ArrayDeque<>();
    boolean refusing;

    @Override
    public void execute(Runnable task) {
      if (refusing) throw new RejectedExecutionException("closing");
      queued.add(task);
    }

    void runOne() {
      queued.poll().run();
    }

    void runAll() {
      while (!queued.isEmpty()) runOne();
    }
  }

  @Test
  void belowTheLimitEverythingIsQueuedAndRunAndNoResyncIsWanted() {
    ManualLoop loop = new ManualLoop();
    SyncInbox inbox = new SyncInbox(8, SPACING, loop);
    AtomicInteger ran = new AtomicInteger();
    for (int i = 0; i < 8; i++)
      assertThat(inbox.offer(Input.CONNTRACK_EVENT, ran::incrementAndGet)).isTrue();
    assertThat(inbox.pending()).isEqualTo(8);
    loop.runAll();
    assertThat(ran).hasValue(8);
    assertThat(inbox.pending()).isZero();
    assertThat(inbox.dropped(Input.CONNTRACK_EVENT)).isZero();
    assertThat(inbox.takeResync(now)).isFalse();
    assertThat(inbox.resyncs()).isZero();
  }

  @Test
  void aFloodIsDroppedAndCountedBeyondTheLimitThenOneResyncOnceDrained() {
    ManualLoop loop = new ManualLoop();
    SyncInbox inbox = new SyncInbox(100, SPACING, loop);
    AtomicInteger ran = new AtomicInteger();
    // a flood: ten times what the queue holds, nothing run meanwhile (the loop is busy)
    int accepted = 0;
    for (int i = 0; i < 1000; i++)
      if (inbox.offer(Input.CONNTRACK_EVENT, ran::incrementAndGet)) accepted++;
    for (int i = 0; i < 50; i++) inbox.offer(Input.SYNC_PACKET, ran::incrementAndGet);
    assertThat(accepted).isEqualTo(100);
    assertThat(loop.queued).as("no growth beyond the limit").hasSize(100);
    assertThat(inbox.pending()).isEqualTo(100);
    assertThat(inbox.dropped(Input.CONNTRACK_EVENT)).isEqualTo(900);
    assertThat(inbox.dropped(Input.SYNC_PACKET)).isEqualTo(50);
    assertThat(inbox.resyncWanted()).isTrue();

    // the loop catches up: no resync while more than a quarter still waits, then exactly one
    while (inbox.pending() > 25) {
      assertThat(inbox.takeResync(now)).as("resync while %d still wait", inbox.pending()).isFalse();
      loop.runOne();
    }
    assertThat(inbox.takeResync(now)).isTrue();
    assertThat(inbox.takeResync(now)).as("one resync per overload").isFalse();
    loop.runAll();
    assertThat(inbox.takeResync(now)).isFalse();
    assertThat(ran).hasValue(100);
    assertThat(inbox.resyncs()).isEqualTo(1);

    // room again: accepted; a second overload wants a second resync
    assertThat(inbox.offer(Input.SYNC_PACKET, ran::incrementAndGet)).isTrue();
    for (int i = 0; i < 200; i++) inbox.offer(Input.CONNTRACK_EVENT, ran::incrementAndGet);
    assertThat(loop.queued).hasSize(100);
    assertThat(inbox.dropped(Input.CONNTRACK_EVENT)).isEqualTo(900 + 101);
    loop.runAll();
    now += SPACING - 1;
    assertThat(inbox.takeResync(now))
        .as("held back: the last resync was less than the spacing ago")
        .isFalse();
    now += 1;
    assertThat(inbox.takeResync(now)).isTrue();
    assertThat(inbox.resyncs()).isEqualTo(2);
  }

  @Test
  void dropsWhileTheResyncIsPendingDoNotAddResyncs() {
    ManualLoop loop = new ManualLoop();
    SyncInbox inbox = new SyncInbox(4, SPACING, loop);
    for (int round = 0; round < 10; round++) {
      for (int i = 0; i < 10; i++) inbox.offer(Input.CONNTRACK_EVENT, () -> {});
      inbox.wantResync(); // netlink overruns during the same flood
    }
    assertThat(inbox.dropped(Input.CONNTRACK_EVENT)).isEqualTo(96);
    loop.runAll();
    assertThat(inbox.takeResync(now)).isTrue();
    assertThat(inbox.takeResync(now)).isFalse();
  }

  @Test
  void anOverrunAloneWantsOneResyncAtTheNextTurnOfAnIdleLoop() {
    SyncInbox inbox = new SyncInbox(16, SPACING, new ManualLoop());
    inbox.wantResync();
    inbox.wantResync();
    assertThat(inbox.takeResync(now)).isTrue();
    assertThat(inbox.takeResync(now)).isFalse();
    assertThat(inbox.dropped(Input.CONNTRACK_EVENT)).isZero();
  }

  @Test
  void aTaskTheClosingLoopRefusesIsNotCountedAsWaiting() {
    ManualLoop loop = new ManualLoop();
    SyncInbox inbox = new SyncInbox(2, SPACING, loop);
    loop.refusing = true;
    assertThatThrownBy(() -> inbox.offer(Input.CONNTRACK_EVENT, () -> {}))
        .isInstanceOf(RejectedExecutionException.class);
    assertThat(inbox.pending()).isZero();
    assertThat(inbox.dropped(Input.CONNTRACK_EVENT)).isZero();
  }

  @Test
  void theLimitMustBePositive() {
    assertThatThrownBy(() -> new SyncInbox(0, SPACING, Runnable::run))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
