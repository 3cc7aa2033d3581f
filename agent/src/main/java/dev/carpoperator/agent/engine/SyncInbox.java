package dev.carpoperator.agent.engine;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bound on the work waiting for the sync loop. Conntrack events and received sync packets
 * arrive faster than the loop can replicate them under a connection flood or a scan; queued without
 * limit they would run the agent out of memory. At most {@code limit} of them wait; what arrives
 * beyond is dropped and counted, and a resync is wanted: one full dump of the kernel table once the
 * loop has caught up (the same repair as after a netlink overrun, which also comes here). Dropped
 * sync packets need nothing on this side: the peer re-sends its states (see docs/state-sync.md).
 *
 * <p>Thread-safe: {@link #offer} from the producer threads, {@link #takeResync} from the loop
 * thread. Time is passed in, so tests drive it with a hand-run executor and made-up times.
 */
final class SyncInbox {
  /** What waits in the queue; the label of the drop counter. */
  enum Input {
    CONNTRACK_EVENT,
    SYNC_PACKET;

    String label() {
      return name().toLowerCase();
    }
  }

  private final int limit;
  private final Executor loop;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicLong[] dropped = {new AtomicLong(), new AtomicLong()};
  private final AtomicBoolean resyncWanted = new AtomicBoolean();
  private final AtomicLong resyncs = new AtomicLong();
  private final long resyncSpacingNanos;
  private long lastResyncAt; // loop thread
  private boolean resynced; // loop thread

  /**
   * @param resyncSpacingNanos least time between two resyncs: under a lasting flood the queue
   *     drains and overflows again and again, and a dump per drain would keep the loop dumping
   */
  SyncInbox(int limit, long resyncSpacingNanos, Executor loop) {
    if (limit < 1) throw new IllegalArgumentException("queue limit must be at least 1: " + limit);
    this.limit = limit;
    this.resyncSpacingNanos = resyncSpacingNanos;
    this.loop = loop;
  }

  /**
   * Queues {@code task} for the loop unless {@code limit} tasks are waiting already. Returns false
   * when it was dropped (counted, resync wanted). A task the executor refuses (closing) is neither
   * run nor counted.
   */
  boolean offer(Input input, Runnable task) {
    if (pending.incrementAndGet() > limit) {
      pending.decrementAndGet();
      dropped[input.ordinal()].incrementAndGet();
      resyncWanted.set(true);
      return false;
    }
    try {
      loop.execute(
          () -> {
            pending.decrementAndGet(); // counted while queued, not while running: the bound is on
            // memory held
            task.run();
          });
    } catch (RuntimeException e) {
      pending.decrementAndGet();
      throw e;
    }
    return true;
  }

  /**
   * Events were lost before they reached us (netlink overrun): the same repair as for our own
   * drops.
   */
  void wantResync() {
    resyncWanted.set(true);
  }

  /**
   * Loop thread: true once per overload, when a resync is wanted, the queue is down to a quarter of
   * its limit (the flood has eased, so the dump is not read while the table is rewritten faster
   * than we follow) and the last resync is {@code resyncSpacingNanos} ago. The caller then dumps;
   * anything dropped from here on wants the next one.
   */
  boolean takeResync(long now) {
    if (pending.get() > limit / 4 || (resynced && now - lastResyncAt < resyncSpacingNanos))
      return false;
    if (!resyncWanted.compareAndSet(true, false)) return false;
    resynced = true;
    lastResyncAt = now;
    resyncs.incrementAndGet();
    return true;
  }

  int limit() {
    return limit;
  }

  /** Tasks waiting now. */
  int pending() {
    return pending.get();
  }

  long dropped(Input input) {
    return dropped[input.ordinal()].get();
  }

  /** Resyncs handed out by {@link #takeResync}. */
  long resyncs() {
    return resyncs.get();
  }

  boolean resyncWanted() {
    return resyncWanted.get();
  }
}
