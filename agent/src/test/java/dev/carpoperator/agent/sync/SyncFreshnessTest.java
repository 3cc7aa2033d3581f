package dev.carpoperator.agent.sync;

import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.DESTROY;
import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.NEW;
import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Replays across a receiver restart (issue #16, item 1): two cores with real envelopes, a fake
 * monotonic clock and a fake wall clock; an attacker without the key records the sealed packets and
 * re-sends them to a restarted receiver.
 */
class SyncFreshnessTest {
  static final long MS = 1_000_000L;
  static final long S = 1_000 * MS;
  static final byte[] KEY = "0123456789abcdef-sync-key".getBytes(StandardCharsets.US_ASCII);
  static final byte[] SRC_A = {10, 0, 0, 1};
  static final byte[] SRC_B = {10, 0, 0, 2};

  long now = 1_000 * S;
  long wall = 1_800_000_000_000L;
  final Random random = new Random(16);

  /** One agent start: core, kernel, its envelopes (a fresh salt each start). */
  final class Node {
    final InMemoryConntrack kernel;
    final SyncCore core;
    final KernelExecutor executor;
    final SyncEnvelope sealer;
    final SyncPacketValidator intake;
    final byte[] source;
    final List<byte[]> sealed = new ArrayList<>();

    Node(int hostId, byte[] source, InMemoryConntrack kernel) {
      this.kernel = kernel;
      this.source = source;
      var settings =
          new SyncCore.Settings(
              hostId,
              (long) hostId << 32,
              Pfsync.payloadBudget(1500) - SyncEnvelope.TRAILER_LENGTH,
              50 * MS,
              2 * MS,
              2 * S,
              30 * S);
      core = new SyncCore(settings, null, new SyncCounters(), random::nextLong);
      executor = new KernelExecutor(kernel, core);
      byte[] salt = new byte[16];
      random.nextBytes(salt);
      sealer = new SyncEnvelope(KEY, false, salt, () -> wall);
      intake =
          new SyncPacketValidator(
              List.of(), new SyncEnvelope(KEY, false, salt, () -> wall), core.counters());
    }

    List<byte[]> poll() {
      List<byte[]> out = new ArrayList<>();
      for (SyncCore.Outgoing o : core.pollPackets(now))
        out.add(sealer.seal(o.pfsync(), source, o.requestNonce(), o.echoes()));
      sealed.addAll(out);
      return out;
    }

    /**
     * As the engine: the validator (refusals by the envelope counted under their reason), then the
     * core and its kernel writes.
     */
    void deliver(byte[] p, byte[] from) {
      var packet = InboundSyncPacket.of(Pfsync.TTL, ip(from), p);
      if (intake.validate(packet) instanceof SyncValidationResult.Sealed sealed)
        executor.execute(core.receiveSealed(sealed.opened(), now));
    }
  }

  static InetAddress ip(byte[] address) {
    try {
      return InetAddress.getByAddress(address);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  Node a = new Node(0x0a0a0a0a, SRC_A, new InMemoryConntrack());
  Node b = new Node(0x0b0b0b0b, SRC_B, new InMemoryConntrack());

  void run(long duration) {
    long end = now + duration;
    while (now <= end) {
      for (int round = 0; round < 10; round++) {
        List<byte[]> fromA = a.poll();
        List<byte[]> fromB = b.poll();
        if (fromA.isEmpty() && fromB.isEmpty()) break;
        for (byte[] p : fromA) b.deliver(p, SRC_A);
        for (byte[] p : fromB) a.deliver(p, SRC_B);
      }
      now += MS;
      wall += 1;
    }
  }

  void advance(long nanos) {
    now += nanos;
    wall += nanos / MS;
  }

  /** b restarts: a new process (new core, new salt, nothing remembered), the same kernel table. */
  void restartB() {
    b = new Node(0x0b0b0b0b, SRC_B, b.kernel);
    b.core.start(now, b.kernel.dump(), true);
  }

  static boolean has(byte[] sealed, Class<? extends PfsyncMessage> type, int busStatus) {
    int len = (sealed[2] & 0xff) << 8 | (sealed[3] & 0xff);
    var d = (PfsyncDecodeResult.Decoded) PfsyncDecoder.decode(sealed, 0, len);
    return d.messages().stream()
        .anyMatch(
            m ->
                type.isInstance(m)
                    && (!(m instanceof PfsyncMessage.Bus bus) || bus.status() == busStatus));
  }

  void aHasStates(int n, int firstPort) {
    for (int i = 0; i < n; i++) {
      ConntrackEntry e = Entries.tcp(firstPort + i, ConntrackEntry.TCP_ESTABLISHED);
      a.kernel.apply(e);
      a.core.kernelEvent(NEW, e, now);
    }
  }

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
