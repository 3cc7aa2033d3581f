package dev.carpoperator.agent.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.sync.SyncEnvelope;

/**
 * The authenticated sync's first look at a packet (the IP payload of a protocol-240 packet), as
 * {@code SyncEngine.onFrame} does it: the pfsync header's len must lie within the payload, then
 * {@link SyncEnvelope#open} must say why it refuses or hand back exactly that many pfsync bytes.
 * Never throws. Seeds: packets sealed with {@link FuzzSeeds#SYNC_KEY}, authenticated and encrypted.
 */
class SyncEnvelopeFuzzTest {
  // One per mode, reused: SyncEnvelope is not thread-safe, but a fuzz target runs on one thread.
  private static final SyncEnvelope AUTHENTICATED =
      new SyncEnvelope(FuzzSeeds.SYNC_KEY, false, new byte[16], () -> FuzzSeeds.SYNC_WALL_MILLIS);
  private static final SyncEnvelope ENCRYPTED =
      new SyncEnvelope(FuzzSeeds.SYNC_KEY, true, new byte[16], () -> FuzzSeeds.SYNC_WALL_MILLIS);

  @FuzzTest(maxDuration = "60s")
  void sealedPacket(byte[] payload) {
    int declared = payload.length >= 4 ? ((payload[2] & 0xff) << 8 | (payload[3] & 0xff)) : -1;
    if (declared < Pfsync.HEADER_LENGTH || declared > payload.length)
      return; // SyncEngine rejects it as bad_length
    for (SyncEnvelope envelope : new SyncEnvelope[] {AUTHENTICATED, ENCRYPTED}) {
      SyncEnvelope.Opened o =
          envelope.open(payload, 0, payload.length, declared, FuzzSeeds.SYNC_SOURCE);
      if (o.ok()) {
        CarpAdvertFuzzTest.check(
            o.pfsync().length == declared,
            "opened " + o.pfsync().length + " bytes, declared " + declared);
        // What passed goes on to the sync core, as in the engine.
        PfsyncFuzzTest.receiver(new FuzzKernel(), new dev.carpoperator.agent.sync.SyncCounters())
            .receiveSealed(o, 1_000_000_000_000L);
      } else {
        CarpAdvertFuzzTest.check(
            o.failure() != null && o.pfsync() == null, "a failure without a reason");
      }
    }
  }
}
