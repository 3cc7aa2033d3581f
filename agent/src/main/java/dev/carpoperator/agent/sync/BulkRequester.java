package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.util.function.LongSupplier;

/**
 * Our own bulk update (docs/protocols/pfsync.md §9): the request and its retries, the peer's BUS
 * START and END, the time-out; what {@link BulkState} the runtime sees. Part of {@link SyncCore};
 * not thread-safe.
 */
final class BulkRequester {
  private static final long NANOS = SyncTable.NANOS;

  private final int hostId;
  private final long retryNanos;
  private final long timeoutNanos;
  private final LongSupplier nonces;
  private final SyncCore.Observer observer;
  private final SyncCounters counters;

  private BulkState state = BulkState.IDLE;
  private long startedAt;
  private long lastActivity;
  private int peer;
  private long receivedThisRun;

  /**
   * The challenge of our current bulk request; a BUS message counts only in a packet echoing it
   * (authenticated mode).
   */
  private long nonce;

  BulkRequester(
      int hostId,
      long retryNanos,
      long timeoutNanos,
      LongSupplier nonces,
      SyncCore.Observer observer,
      SyncCounters counters) {
    this.hostId = hostId;
    this.retryNanos = retryNanos;
    this.timeoutNanos = timeoutNanos;
    this.nonces = nonces;
    this.observer = observer;
    this.counters = counters;
  }

  BulkState state() {
    return state;
  }

  boolean pending() {
    return state.pending();
  }

  /** The hostid of the peer whose bulk we are receiving (valid while RECEIVING). */
  int peer() {
    return peer;
  }

  /** States received in the current (or last) bulk update. */
  long received() {
    return receivedThisRun;
  }

  /** The nonce of our bulk request while it is pending, else 0. */
  long pendingNonce() {
    return state.pending() ? nonce : 0;
  }

  /** True when the packet echoes our current request: its BUS messages answer us. */
  boolean answeredBy(SyncEnvelope.Opened opened) {
    return state.pending() && opened.echoes(nonce);
  }

  /** Starts a (new) request; the caller sends the UPD_REQ(0,0). */
  void request(long now, String why) {
    startedAt = now;
    lastActivity = now;
    receivedThisRun = 0;
    long n;
    do n = nonces.getAsLong();
    while (n == 0); // 0 means "no request" on the wire
    nonce = n; // new per request, kept for its retries: answers to an older request no longer count
    setState(BulkState.REQUESTING, why);
  }

  /** A state arrived as UPD: counted when it is part of the bulk we are receiving. */
  void stateReceived(long now) {
    if (state != BulkState.RECEIVING) return;
    counters.bulkStatesReceived.incrementAndGet();
    receivedThisRun++;
    lastActivity = now;
  }

  /** Retries and time-outs; true when the request is due again (the caller sends it). */
  boolean retryDue(long now) {
    if (state == BulkState.REQUESTING) {
      if (now - startedAt >= timeoutNanos) {
        setState(BulkState.TIMED_OUT, "no peer answered within " + timeoutNanos / NANOS + " s");
      } else if (now - lastActivity >= retryNanos) {
        lastActivity = now;
        return true;
      }
    } else if (state == BulkState.RECEIVING && now - lastActivity >= timeoutNanos) {
      setState(BulkState.TIMED_OUT, "the peer's bulk stalled after " + receivedThisRun + " states");
    }
    return false;
  }

  void bus(PfsyncMessage.Bus bus, long now) {
    if (bus.creatorid() == hostId) return; // our own, looped back
    if (bus.status() == PfsyncMessage.Bus.START && state == BulkState.REQUESTING) {
      peer = bus.creatorid();
      lastActivity = now;
      receivedThisRun = 0;
      setState(
          BulkState.RECEIVING,
          "peer " + Integer.toUnsignedString(bus.creatorid(), 16) + " started sending its states");
    } else if (bus.status() == PfsyncMessage.Bus.END
        && state.pending()
        && (state == BulkState.REQUESTING || bus.creatorid() == peer)) {
      setState(
          BulkState.DONE, receivedThisRun + " states in " + (now - startedAt) / 1_000_000 + " ms");
    }
  }

  private void setState(BulkState to, String detail) {
    BulkState from = state;
    state = to;
    observer.bulkStateChanged(from, to, detail);
  }
}
