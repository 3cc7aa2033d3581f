package dev.carpoperator.agent.linux.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The sync threads' real-time priority, on this machine's kernel (the tests run as root, which has
 * CAP_SYS_NICE). Each case runs on a thread of its own, so the test runner's threads stay as they
 * are.
 */
class RealtimeThreadsTest {

  /** The policy and SCHED_RR priority of a thread that called {@code enter} (twice). */
  static int[] onAThread(RealtimeThreads threads) throws InterruptedException {
    AtomicInteger policy = new AtomicInteger(-2);
    AtomicInteger priority = new AtomicInteger(-2);
    Thread t =
        Thread.ofPlatform()
            .start(
                () -> {
                  threads.enter("test");
                  threads.enter("test"); // the second call changes nothing
                  policy.set(RealtimeThreads.currentPolicy());
                  priority.set(RealtimeThreads.currentPriority());
                });
    t.join();
    return new int[] {policy.get(), priority.get()};
  }

  @Test
  void aThreadThatEntersRunsRoundRobinAtThePriorityAsked() throws InterruptedException {
    assertThat(onAThread(new RealtimeThreads(10))).containsExactly(RealtimeThreads.SCHED_RR, 10);
  }

  @Test
  void offLeavesThreadsAtNormalPriority() throws InterruptedException {
    assertThat(onAThread(RealtimeThreads.OFF)).containsExactly(0, 0);
  }

  @Test
  void aPriorityOutsideTheKernelsRangeIsRefusedWithTheRange() {
    assertThatThrownBy(() -> new RealtimeThreads(100)).hasMessageContaining("1..99");
    assertThat(RealtimeThreads.applyToCurrentThread(0))
        .as("the kernel refuses priority 0 for SCHED_RR, and says so rather than throwing")
        .contains("errno 22 (Invalid argument)");
  }
}
