package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.agent.sync.KernelExecutor;
import dev.carpoperator.agent.sync.SyncCore;
import dev.carpoperator.agent.sync.SyncCounters;
import dev.carpoperator.agent.sync.SyncValidationResult;
import java.util.function.LongSupplier;

/**
 * The pure {@link SyncCore} as {@link SyncEngine}'s loop runs it: set up for the sync link, handed
 * the loop's inputs with the current time, its kernel writes carried out by a {@link
 * KernelExecutor} before anything else happens, and what is due sent at once. Loop thread only.
 */
final class SyncCoreDriver {
  /**
   * One full bulk packet (about 5 states) per 250 µs, ~20 000 states/s: below what a receiver
   * writes to its kernel table (~55 000 creates/s on one netlink socket) so that its capture ring
   * does not fill during a long bulk. Our agents report their progress and are not paced ({@code
   * BulkSender.WINDOW_PACKETS}).
   */
  static final long BULK_INTERVAL_NANOS = 250_000L;

  /** How often our bulk request is repeated while nobody answers. */
  static final long BULK_RETRY_NANOS = 2_000_000_000L;

  private final SyncCore core;
  private final KernelExecutor kernelActions;
  private final LongSupplier clock;
  private final Runnable sendDue;
  private final boolean batching; // maxDelayMillis > 0: the ChangeQueue batches by itself

  /**
   * @param packetBudget pfsync bytes per packet (the link's budget less the envelope)
   * @param sendDue sends what the core has due (the engine's {@code sendDue})
   */
  SyncCoreDriver(
      SyncEngine.Settings settings,
      int packetBudget,
      ConntrackKernel kernel,
      SyncCore.Observer observer,
      SyncCounters counters,
      LongSupplier clock,
      Runnable sendDue) {
    long idBase = (System.currentTimeMillis() / 1000) << 32; // OpenBSD: boot time << 32
    var coreSettings =
        new SyncCore.Settings(
            settings.hostId(),
            idBase,
            packetBudget,
            settings.maxDelayMillis() * 1_000_000L,
            BULK_INTERVAL_NANOS,
            BULK_RETRY_NANOS,
            settings.bulkTimeoutSeconds() * 1_000_000_000L);
    this.core = new SyncCore(coreSettings, observer, counters);
    this.kernelActions = new KernelExecutor(kernel, core);
    this.clock = clock;
    this.sendDue = sendDue;
    this.batching = settings.maxDelayMillis() > 0;
  }

  SyncCore core() {
    return core;
  }

  /**
   * A conntrack event. {@code moreWaiting}: more of the loop's inputs are queued behind it. With
   * none waiting, what is due goes at once (full packets, and everything when maxDelayMillis is 0),
   * so an idle node adds no delay. With more waiting, only a burst of full packets goes at once;
   * the rest waits for the last of them (or the loop's tick, every 10 ms): under load the changes
   * leave in full packets instead of one packet per event, which a cold agent with maxDelayMillis 0
   * could not send 10 000 times a second (its queue filled and events were dropped). With a
   * batching delay (maxDelayMillis above 0) the queue batches by itself and every event is followed
   * by a send, as before: holding those sends back made the default agent fall behind at 30 000
   * changes a second in two runs of ./carp bench sync (docs/benchmarks.md).
   */
  void kernelEvent(ConntrackKernel.EventType type, ConntrackEntry entry, boolean moreWaiting) {
    core.kernelEvent(type, entry, clock.getAsLong());
    if (!moreWaiting || batching || core.changesFull()) sendDue.run();
  }

  void received(SyncValidationResult.Plain plain) {
    byte[] p = plain.pfsync();
    kernelActions.execute(core.receive(p, 0, p.length, clock.getAsLong()));
    sendDue.run(); // a requested bulk starts at once; other answers wait for the batch delay
  }

  void received(SyncValidationResult.Sealed sealed) {
    // replay and bulk-answer checks run with the core
    kernelActions.execute(core.receiveSealed(sealed.opened(), clock.getAsLong()));
    sendDue.run();
  }

  /**
   * This process was not running for {@code pauseNanos} (frozen, paused): the sync packets of that
   * time may have been refused as stale, so ask the peers for their table (CARP stays demoted until
   * it is in, as after a link outage).
   */
  void resumed(long pauseNanos) {
    core.requestBulk(
        clock.getAsLong(),
        String.format(
            "this process did not run for %.1f s: asking peers for the states it may have missed",
            pauseNanos / 1e9));
    sendDue.run();
  }

  /** The sync link is back: the states created while it was down never reached us. */
  void linkBack() {
    core.requestBulk(
        clock.getAsLong(), "the sync link is back: asking peers for the states created meanwhile");
    sendDue.run();
  }
}
