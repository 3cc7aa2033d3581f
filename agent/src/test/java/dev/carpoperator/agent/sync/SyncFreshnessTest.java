package dev.carpoperator.agent.sync;

import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.DESTROY;
import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.NEW;
import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Replays across a receiver restart (issue #16, item 1): two cores with real envelopes, a fake
 * monotonic clock and a fake wall clock; an attacker without the key records the sealed packets and
 * re-sends them to a restarted receiver.
 */
class SyncFreshnessTest extends SealedPairFixture {

  @Test
  void aRecordedBusEndDoesNotEndTheBulkOfARestartedReceiver() {
    a.core.start(now, List.of(), false);
    aHasStates(20, 41000);
    b.core.start(now, List.of(), true);
    run(200 * MS);
    assertThat(b.core.bulkState()).isEqualTo(BulkState.DONE);
    byte[] busEnd =
        a.sealed.stream()
            .filter(p -> has(p, PfsyncMessage.Bus.class, PfsyncMessage.Bus.END))
            .findFirst()
            .orElseThrow();
    byte[] busStart =
        a.sealed.stream()
            .filter(p -> has(p, PfsyncMessage.Bus.class, PfsyncMessage.Bus.START))
            .findFirst()
            .orElseThrow();

    advance(2 * S);
    b.kernel.table
        .clear(); // say b's node rebooted: its table is empty and must be refilled before it may
    // take over
    restartB();
    List<byte[]> heldBack =
        b.poll(); // its bulk request goes out, but the attacker keeps it from a for now
    b.deliver(busStart, SRC_A);
    b.deliver(busEnd, SRC_A);
    assertThat(b.core.bulkState())
        .as("still demoted: the recorded bulk answers an older request")
        .isEqualTo(BulkState.REQUESTING);
    assertThat(b.core.counters().statesRejected("bus_not_for_us")).isEqualTo(2);

    for (byte[] p : heldBack) a.deliver(p, SRC_B);
    run(300 * MS); // a answers the real request
    assertThat(b.core.bulkState()).isEqualTo(BulkState.DONE);
    assertThat(b.kernel.table).hasSize(20);
  }

  @Test
  void recordedStateMessagesAreNotReplayedToARestartedReceiver() {
    a.core.start(now, List.of(), false);
    b.core.start(now, List.of(), false);
    ConntrackEntry e = Entries.tcp(42000, ConntrackEntry.TCP_ESTABLISHED);
    a.kernel.apply(e);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);
    byte[] ins = a.sealed.getLast();
    assertThat(b.kernel.table).containsKey(e.key());
    a.kernel.delete(e);
    a.core.kernelEvent(DESTROY, e, now);
    run(100 * MS);
    assertThat(b.kernel.table).isEmpty();

    // Within the freshness window, while b's bulk request is pending: a's session has not answered
    // it yet.
    advance(2 * S);
    restartB();
    b.deliver(ins, SRC_A);
    assertThat(b.kernel.table).as("replayed INS before a answered b's request").isEmpty();
    assertThat(b.core.counters().statesRejected("unanchored")).isEqualTo(1);
    run(300 * MS);
    assertThat(b.core.bulkState()).isEqualTo(BulkState.DONE);
    // a's session answered: everything it sent before is behind b now.
    b.deliver(ins, SRC_A);
    assertThat(b.kernel.table).as("replayed INS after the bulk").isEmpty();
    assertThat(b.core.counters().packetsRejected().get("replay")).isEqualTo(1);

    // Older than the window: refused whatever b remembers.
    advance(SyncEnvelope.FRESHNESS_WINDOW_MILLIS * MS);
    restartB();
    run(300 * MS);
    b.deliver(ins, SRC_A);
    assertThat(b.kernel.table).isEmpty();
    assertThat(b.core.counters().packetsRejected().get("stale")).isEqualTo(1);
  }

  @Test
  void aRecordedBulkRequestOlderThanTheWindowStartsNoTableSend() {
    a.core.start(now, List.of(), false);
    aHasStates(5, 43000);
    b.core.start(now, List.of(), true);
    run(200 * MS);
    byte[] request = b.sealed.getFirst();
    assertThat(has(request, PfsyncMessage.UpdReq.class, 0)).isTrue();
    long served = a.core.counters().bulksServed.get();

    advance(SyncEnvelope.FRESHNESS_WINDOW_MILLIS * MS + S);
    a = new Node(0x0a0a0a0a, SRC_A, a.kernel); // a restarted too: its replay window is empty
    a.core.start(now, a.kernel.dump(), false);
    a.deliver(request, SRC_B);
    a.poll();
    assertThat(a.core.counters().bulksServed.get()).isZero();
    assertThat(a.core.counters().packetsRejected().get("stale")).isEqualTo(1);
    assertThat(served).isEqualTo(1);
  }
}
