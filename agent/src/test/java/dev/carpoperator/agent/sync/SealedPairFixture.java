package dev.carpoperator.agent.sync;

import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.NEW;

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

/**
 * Two sync cores with real envelopes (authenticated mode), their in-memory kernels, a fake
 * monotonic clock and a fake wall clock; packets are delivered by hand or by {@link #run}, so a
 * test can hold back, record or replay any of them.
 */
abstract class SealedPairFixture {
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
}
