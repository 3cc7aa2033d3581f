package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.agent.sync.Entries;
import dev.carpoperator.agent.sync.SyncCore;
import dev.carpoperator.agent.sync.SyncCounters;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * When the loop sends: at once after an event with nothing queued behind it, in full packets after
 * the last of a queued run.
 */
class SyncCoreDriverTest {
  /** A kernel that is only listened to: these tests send, they write nothing. */
  static final class QuietKernel implements ConntrackKernel {
    @Override
    public List<ConntrackEntry> dump() {
      return List.of();
    }

    @Override
    public void apply(ConntrackEntry e) {}

    @Override
    public boolean makeLiberal(ConntrackEntry e) {
      return false;
    }

    @Override
    public boolean delete(ConntrackEntry e) {
      return false;
    }

    @Override
    public void listen(Listener listener) {}

    @Override
    public void followNewAndUpdates(boolean follow) {}

    @Override
    public Stats stats() {
      return null;
    }

    @Override
    public void close() {}
  }

  static ConntrackEntry tcp(int clientPort) {
    return Entries.tcp(clientPort, ConntrackEntry.TCP_ESTABLISHED);
  }

  /** The driver with maxDelayMillis 0, its packets collected. */
  static final class Harness {
    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final List<SyncCore.Outgoing> sent = new ArrayList<>();
    int sends; // times the driver asked to send
    SyncCoreDriver driver;

    Harness() {
      this(0);
    }

    Harness(int maxDelayMillis) {
      var settings =
          new SyncEngine.Settings(
              "sync0", List.of(), new byte[20], false, 0x1234, maxDelayMillis, 30, 0);
      driver =
          new SyncCoreDriver(
              settings,
              1400,
              new QuietKernel(),
              new SyncCore.Observer() {},
              new SyncCounters(),
              now::get,
              () -> {
                sends++;
                sent.addAll(driver.core().pollPackets(now.get()));
              });
      driver.core().start(now.get(), List.of(), false);
      sent.clear();
    }
  }

  @Test
  void anEventWithNothingQueuedBehindItIsSentAtOnce() throws Exception {
    Harness h = new Harness();
    h.driver.kernelEvent(ConntrackKernel.EventType.NEW, tcp(40000), false);
    assertThat(h.sent).hasSize(1);
    h.driver.kernelEvent(ConntrackKernel.EventType.NEW, tcp(40001), false);
    assertThat(h.sent).hasSize(2);
  }

  @Test
  void aQueuedRunOfEventsLeavesInFullPacketsAfterItsLast() throws Exception {
    Harness h = new Harness();
    for (int i = 0; i < 99; i++) {
      h.driver.kernelEvent(ConntrackKernel.EventType.NEW, tcp(40000 + i), true);
      // while more events wait, only bursts of full packets leave
      assertThat(h.sent.size()).isLessThan(i + 1);
      if (h.driver.core().changesFull()) throw new AssertionError("a full burst stayed queued");
    }
    int beforeLast = h.sent.size();
    assertThat(beforeLast).as("full bursts left while the run went on").isPositive();
    h.driver.kernelEvent(ConntrackKernel.EventType.NEW, tcp(40099), false);
    assertThat(h.sent.size()).as("the rest after the last").isGreaterThan(beforeLast);
    // 100 new states in packets of several each, not 100 packets
    assertThat(h.sent).hasSizeBetween(10, 30);
  }

  /**
   * With a batching delay the queue batches by itself: every event is followed by a send, and full
   * bursts leave as they fill, while more events wait or not.
   */
  @Test
  void withABatchingDelayEveryEventIsFollowedByASend() throws Exception {
    Harness h = new Harness(50);
    for (int i = 0; i < 200; i++) {
      h.driver.kernelEvent(ConntrackKernel.EventType.NEW, tcp(40000 + i), true);
      assertThat(h.sends).as("a send after each event").isEqualTo(i + 1);
    }
    assertThat(h.sent).as("full bursts").isNotEmpty();
  }
}
