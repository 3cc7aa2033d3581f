package dev.carpoperator.agent.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.sync.KernelExecutor;
import dev.carpoperator.agent.sync.SyncCore;
import dev.carpoperator.agent.sync.SyncCounters;
import dev.carpoperator.agent.sync.SyncEnvelope;

/**
 * pfsync bytes as an unauthenticated peer (sync mode bsd-compatible) or a holder of the key can
 * send them: {@link PfsyncDecoder} and then the sync core, whose kernel writes go into a (memory)
 * conntrack table through a {@link KernelExecutor}, which answers update requests and bulk
 * requests, and follows bulk status. Contract: nothing throws; the decoder's result respects the
 * header's length; the core counts the packet as received or rejected exactly once. Seeds: packets
 * the sync core itself sends (INS, UPD, UPD_C, DEL_C, UPD_REQ, BUS, CLR), see {@link FuzzSeeds}.
 */
class PfsyncFuzzTest {
  static final long S = 1_000_000_000L;

  @FuzzTest(maxDuration = "60s")
  void pfsyncPacket(byte[] data) {
    switch (PfsyncDecoder.decode(data)) {
      case PfsyncDecodeResult.Decoded d -> {
        CarpAdvertFuzzTest.check(
            d.header().length() >= Pfsync.HEADER_LENGTH && d.header().length() <= data.length,
            "header len " + d.header().length() + " outside the packet");
        CarpAdvertFuzzTest.check(
            d.messages().size() <= (d.header().length() - Pfsync.HEADER_LENGTH) / 4,
            d.messages().size() + " messages from " + d.header().length() + " bytes");
      }
      case PfsyncDecodeResult.Rejected r ->
          CarpAdvertFuzzTest.check(!r.detail().isEmpty(), "rejection without detail");
    }

    // A receiver that has states of its own and is waiting for a bulk update, so every message kind
    // has an effect.
    FuzzKernel kernel = new FuzzKernel();
    SyncCounters counters = new SyncCounters();
    SyncCore core = receiver(counters);
    KernelExecutor executor = new KernelExecutor(kernel, core);
    long now = 1_000 * S;
    core.start(now, FuzzSeeds.someEntries(), true);
    core.poll(now);
    long before = counters.packetsReceived.get() + sum(counters.packetsRejected().values());
    executor.execute(core.receive(data, 0, data.length, now + S));
    long after = counters.packetsReceived.get() + sum(counters.packetsRejected().values());
    CarpAdvertFuzzTest.check(after - before == 1, "packet counted " + (after - before) + " times");
    // What the packet asked for (updates, a bulk) goes out; timers and a table refresh run on what
    // it wrote.
    for (long t = now + S; t <= now + 40 * S; t += 5 * S) {
      core.poll(t);
      core.refresh(kernel.dump(), t);
    }
  }

  static SyncCore receiver(SyncCounters counters) {
    var settings =
        new SyncCore.Settings(
            0x0b0b0b0b,
            0x0b0b0b0bL << 32,
            Pfsync.payloadBudget(1500) - SyncEnvelope.TRAILER_LENGTH,
            50_000_000L,
            2_000_000L,
            2 * S,
            30 * S);
    return new SyncCore(settings, null, counters);
  }

  private static long sum(java.util.Collection<Long> values) {
    return values.stream().mapToLong(Long::longValue).sum();
  }
}
