package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncPacketBuilder;
import dev.carpoperator.agent.sync.SyncTable.GlobalId;
import dev.carpoperator.agent.sync.SyncTable.Tracked;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Our answer to a peer's bulk request (docs/protocols/pfsync.md §9): BUS START, every state as UPD,
 * BUS END, paced one packet per {@code bulkInterval}. Part of {@link SyncCore}; not thread-safe.
 */
final class BulkSender {

  /** Bulk packets one poll may catch up with (see {@link #poll}). */
  static final int MAX_PACKETS_PER_POLL = 16;

  private static final long[] NO_ECHOES = new long[0];

  private final int hostId;
  private final int packetBudget;
  private final long intervalNanos;

  private final ArrayDeque<PfsyncMessage> out = new ArrayDeque<>();
  private long nextPacketAt;

  /** Nonces of the requests the bulk under way answers, newest last. */
  private final LinkedHashSet<Long> answering = new LinkedHashSet<>();

  BulkSender(int hostId, int packetBudget, long intervalNanos) {
    this.hostId = hostId;
    this.packetBudget = packetBudget;
    this.intervalNanos = intervalNanos;
  }

  /** True while a bulk send is under way. */
  boolean sending() {
    return !out.isEmpty();
  }

  /**
   * Remembers the nonce of a request this bulk answers (authenticated mode; 0 in bsd-compatible
   * mode), so that the requester can tell the answer from a recorded one.
   */
  void answer(long requestNonce) {
    if (requestNonce == 0) return;
    answering.remove(requestNonce);
    if (answering.size() >= SyncEnvelope.MAX_ECHOES) answering.remove(answering.getFirst());
    answering.add(requestNonce);
  }

  /** A new bulk of {@code states}, its first packet due at {@code now}. */
  void start(Collection<Tracked> states, long now) {
    out.clear();
    out.add(new PfsyncMessage.Bus(hostId, 0, PfsyncMessage.Bus.START));
    for (Tracked t : states) out.add(new PfsyncMessage.Upd(t.state()));
    out.add(new PfsyncMessage.Bus(hostId, 0, PfsyncMessage.Bus.END));
    nextPacketAt = now;
  }

  /**
   * A request while a bulk is under way (the requester's retry, or another peer): as OpenBSD's
   * pfsync_bulk_start, go on from where the bulk is and wrap around to the states already sent,
   * behind a new BUS START, instead of dumping the table and starting over. At 250 000 states the
   * dump alone outlasts the requester's 2 s retry, and each retry restarted the bulk (./carp bench
   * sync: 305 454 states sent for 250 000).
   */
  void extend(Collection<Tracked> states) {
    if (out.peekFirst() instanceof PfsyncMessage.Bus first
        && first.status() == PfsyncMessage.Bus.START) return; // nothing sent yet
    Set<GlobalId> queued = new HashSet<>();
    for (PfsyncMessage m : out) {
      if (m instanceof PfsyncMessage.Upd u)
        queued.add(new GlobalId(u.state().id(), u.state().creatorid()));
    }
    PfsyncMessage end = out.pollLast();
    out.addFirst(new PfsyncMessage.Bus(hostId, 0, PfsyncMessage.Bus.START));
    for (Tracked t : states) if (!queued.contains(t.id)) out.add(new PfsyncMessage.Upd(t.state()));
    out.add(end);
  }

  /**
   * Adds to {@code into} every bulk packet whose slot has come, one per bulkInterval, however often
   * the runtime polls (a 1 ms loop turn takes ~1.5 ms, which would cap a bulk at ~3 750 states/s).
   * A poll that comes late sends at most {@link #MAX_PACKETS_PER_POLL}, so that a stalled loop does
   * not dump a burst into the peer's capture ring.
   *
   * @param requestNonce the nonce of our own pending bulk request, 0 if none
   */
  void poll(long now, long requestNonce, List<SyncCore.Outgoing> into) {
    nextPacketAt = Math.max(nextPacketAt, now - MAX_PACKETS_PER_POLL * intervalNanos);
    while (!out.isEmpty() && now >= nextPacketAt) {
      PfsyncPacketBuilder b = new PfsyncPacketBuilder(packetBudget);
      // BUS START goes alone: a packet groups messages by action, and START must reach the peer
      // before the states.
      while (!out.isEmpty() && b.add(out.peek())) {
        if (out.poll() instanceof PfsyncMessage.Bus bus && bus.status() == PfsyncMessage.Bus.START)
          break;
      }
      long[] echoes =
          answering.isEmpty() ? NO_ECHOES : answering.stream().mapToLong(Long::longValue).toArray();
      into.add(new SyncCore.Outgoing(b.build(), requestNonce, echoes));
      nextPacketAt += Math.max(1, intervalNanos);
    }
    if (out.isEmpty()) answering.clear(); // the BUS END went out with them
  }
}
