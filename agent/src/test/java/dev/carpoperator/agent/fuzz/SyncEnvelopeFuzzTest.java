package dev.carpoperator.agent.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.sync.InboundSyncPacket;
import dev.carpoperator.agent.sync.KernelExecutor;
import dev.carpoperator.agent.sync.SyncCore;
import dev.carpoperator.agent.sync.SyncCounters;
import dev.carpoperator.agent.sync.SyncEnvelope;
import dev.carpoperator.agent.sync.SyncPacketValidator;
import dev.carpoperator.agent.sync.SyncValidationResult;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;

/**
 * The sync's first look at a packet (the IP payload of a protocol-240 packet from the link), as
 * {@code SyncEngine.onFrame} runs it: {@link SyncPacketValidator} in authenticated, encrypted and
 * bsd-compatible mode (the pfsync header's len within the payload, then {@link SyncEnvelope#open}).
 * Contract: never throws; a rejection has a reason and a message and is counted once, under its
 * reason; an opened packet has exactly the header's len of pfsync bytes and goes on to the sync
 * core, as in the engine; bsd-compatible mode hands on the payload as it came. Seeds: packets
 * sealed with {@link FuzzSeeds#SYNC_KEY}, authenticated and encrypted.
 */
class SyncEnvelopeFuzzTest {
  // One per mode, reused: SyncEnvelope is not thread-safe, but a fuzz target runs on one thread.
  private static final SyncEnvelope AUTHENTICATED =
      new SyncEnvelope(FuzzSeeds.SYNC_KEY, false, new byte[16], () -> FuzzSeeds.SYNC_WALL_MILLIS);
  private static final SyncEnvelope ENCRYPTED =
      new SyncEnvelope(FuzzSeeds.SYNC_KEY, true, new byte[16], () -> FuzzSeeds.SYNC_WALL_MILLIS);
  private static final InetAddress SOURCE = address(FuzzSeeds.SYNC_SOURCE);

  @FuzzTest(maxDuration = "60s")
  void sealedPacket(byte[] payload) {
    for (SyncEnvelope envelope : new SyncEnvelope[] {AUTHENTICATED, ENCRYPTED, null}) {
      SyncCounters counters = new SyncCounters();
      SyncValidationResult result =
          new SyncPacketValidator(List.of(), envelope, counters)
              .validate(InboundSyncPacket.of(Pfsync.TTL, SOURCE, payload));
      long rejected = counters.packetsRejected().values().stream().mapToLong(Long::longValue).sum();
      switch (result) {
        case SyncValidationResult.Rejected r -> {
          CarpAdvertFuzzTest.check(
              rejected == 1 && counters.packetsRejected(r.reason().label()) == 1,
              "rejection not counted once under " + r.reason() + ": " + counters.packetsRejected());
          CarpAdvertFuzzTest.check(!r.message().isEmpty(), "rejection without a message");
        }
        case SyncValidationResult.Sealed s -> {
          CarpAdvertFuzzTest.check(envelope != null && rejected == 0, "opened, yet " + rejected);
          int declared = (payload[2] & 0xff) << 8 | (payload[3] & 0xff);
          CarpAdvertFuzzTest.check(
              s.opened().pfsync().length == declared,
              "opened " + s.opened().pfsync().length + " bytes, declared " + declared);
          // What passed goes on to the sync core and its kernel writes, as in the engine.
          SyncCore core = PfsyncFuzzTest.receiver(new SyncCounters());
          new KernelExecutor(new FuzzKernel(), core)
              .execute(core.receiveSealed(s.opened(), 1_000_000_000_000L));
        }
        case SyncValidationResult.Plain p ->
            CarpAdvertFuzzTest.check(
                envelope == null && rejected == 0 && Arrays.equals(p.pfsync(), payload),
                "bsd-compatible mode changed the payload, or an envelope was skipped");
      }
    }
  }

  private static InetAddress address(byte[] ip) {
    try {
      return InetAddress.getByAddress(ip);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
