package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncPacketBuilder;
import dev.carpoperator.agent.sync.SyncTable.GlobalId;
import dev.carpoperator.agent.sync.SyncTable.Tracked;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Our answer to a peer's bulk request (docs/protocols/pfsync.md §9): BUS START, every state as UPD,
 * BUS END, paced one packet per {@code bulkInterval} as OpenBSD does. A requester that reports its
 * progress (our agents, authenticated mode: BUS {@link PfsyncMessage.Bus#PROGRESS}) gets the bulk
 * as fast as it applies it instead: up to {@link #WINDOW_PACKETS} packets beyond what it has
 * applied. Each state is mapped to its UPD when its packet is built, so a bulk sends the state as
 * it is then, and skips one that left the table since the bulk started. Part of {@link SyncCore};
 * not thread-safe.
 */
final class BulkSender {

  /** Bulk packets one poll may catch up with (see {@link #poll}). */
  static final int MAX_PACKETS_PER_POLL = 16;

  /**
   * Bulk packets a requester that reports progress may have in flight, not yet applied: about 640
   * states, 190 KB, far below its capture ring (8 MiB) and its queue (16 384 packets), and enough
   * to cover a round trip of a few milliseconds at the receiver's pace.
   */
  static final int WINDOW_PACKETS = 128;

  /**
   * A full window without progress for this long falls back to the pacing, so that a requester that
   * stopped reporting (gone, or its reports lost) still gets the rest of the bulk.
   */
  static final long PROGRESS_STALL_NANOS = 50_000_000L;

  private static final long[] NO_ECHOES = new long[0];

  private final int hostId;
  private final int packetBudget;
  private final long intervalNanos;
  private final SyncTable table;

  /** The bulk still to send: BUS START (if not sent yet), the states, BUS END. */
  private boolean startDue;

  private final ArrayDeque<Tracked> states = new ArrayDeque<>();
  private boolean endDue;

  /** A message built that did not fit the last packet: the first of the next. */
  private PfsyncMessage carried;

  private long nextPacketAt;

  /** Nonces of the requests the bulk under way answers, newest last. */
  private final LinkedHashSet<Long> answering = new LinkedHashSet<>();

  /** Bulk packets sent since the bulk started. */
  private long sent;

  /** Per request answered: the bulk packets sent before it joined (they do not echo its nonce). */
  private final Map<Long, Long> joinedAt = new HashMap<>();

  /** Per requester that reports progress: the packets echoing its nonce that it has applied. */
  private final Map<Long, Long> applied = new HashMap<>();

  private long lastProgressAt;

  BulkSender(int hostId, int packetBudget, long intervalNanos, SyncTable table) {
    this.hostId = hostId;
    this.packetBudget = packetBudget;
    this.intervalNanos = intervalNanos;
    this.table = table;
  }

  /** True while a bulk send is under way. */
  boolean sending() {
    return endDue;
  }

  /**
   * Remembers the nonce of a request this bulk answers (authenticated mode; 0 in bsd-compatible
   * mode), so that the requester can tell the answer from a recorded one.
   */
  void answer(long requestNonce) {
    if (requestNonce == 0) return;
    answering.remove(requestNonce);
    if (answering.size() >= SyncEnvelope.MAX_ECHOES) {
      Long oldest = answering.removeFirst();
      joinedAt.remove(oldest);
      applied.remove(oldest);
    }
    answering.add(requestNonce);
    joinedAt.putIfAbsent(requestNonce, sent);
  }

  /**
   * A requester reports that it has applied {@code applied} packets of the bulk that answers its
   * request {@code requestNonce}; reports for requests we are not answering are ignored.
   */
  void progress(long requestNonce, long packetsApplied, long now) {
    if (requestNonce == 0 || !answering.contains(requestNonce)) return;
    if (packetsApplied <= applied.getOrDefault(requestNonce, -1L)) return; // reordered, repeated
    applied.put(requestNonce, packetsApplied);
    lastProgressAt = now;
  }

  /** True when every requester of the bulk under way reports its progress. */
  private boolean allReport() {
    return !answering.isEmpty() && applied.size() >= answering.size();
  }

  /** True when every requester reports and has fewer than {@link #WINDOW_PACKETS} in flight. */
  private boolean windowOpen() {
    if (!allReport()) return false;
    for (var e : applied.entrySet())
      if (sent - joinedAt.getOrDefault(e.getKey(), 0L) - e.getValue() >= WINDOW_PACKETS)
        return false;
    return true;
  }

  /** A new bulk of {@code states}, its first packet due at {@code now}. */
  void start(Collection<Tracked> states, long now) {
    this.states.clear();
    this.states.addAll(states);
    startDue = true;
    endDue = true;
    carried = null;
    nextPacketAt = now;
    sent = 0;
    applied.clear();
    joinedAt.replaceAll((nonce, at) -> 0L); // every request so far is answered from the start
  }

  /**
   * A request while a bulk is under way (the requester's retry, or another peer): as OpenBSD's
   * pfsync_bulk_start, go on from where the bulk is and wrap around to the states already sent,
   * behind a new BUS START, instead of starting over. At 250 000 states a restart outlasted the
   * requester's 2 s retry, and each retry restarted the bulk (./carp bench sync: 305 454 states
   * sent for 250 000).
   */
  void extend(Collection<Tracked> all) {
    if (startDue) return; // nothing sent yet
    Set<GlobalId> queued = new HashSet<>();
    for (Tracked t : states) queued.add(t.id);
    if (carried instanceof PfsyncMessage.Upd u)
      queued.add(new GlobalId(u.state().id(), u.state().creatorid()));
    if (carried instanceof PfsyncMessage.Bus) carried = null; // BUS END: it comes after the rest
    startDue = true;
    for (Tracked t : all) if (!queued.contains(t.id)) states.add(t);
  }

  /**
   * Adds to {@code into} the bulk packets due: for requesters that report progress, as many as keep
   * {@link #WINDOW_PACKETS} in flight; otherwise one per bulkInterval, however often the runtime
   * polls (a 1 ms loop turn takes ~1.5 ms, which would cap a bulk at ~3 750 states/s). A poll that
   * comes late sends at most {@link #MAX_PACKETS_PER_POLL} paced packets, so that a stalled loop
   * does not dump a burst into the peer's capture ring.
   *
   * @param requestNonce the nonce of our own pending bulk request, 0 if none
   */
  void poll(long now, long requestNonce, List<SyncCore.Outgoing> into) {
    nextPacketAt = Math.max(nextPacketAt, now - MAX_PACKETS_PER_POLL * intervalNanos);
    boolean reporting = allReport();
    while (endDue) {
      if (windowOpen()) {
        nextPacketAt = now; // no catching up on the pacing once the window closes
      } else if (reporting && now - lastProgressAt < PROGRESS_STALL_NANOS) {
        break; // the requesters are applying what they have: wait for their next report
      } else if (now >= nextPacketAt) {
        nextPacketAt += Math.max(1, intervalNanos);
      } else {
        break;
      }
      PfsyncPacketBuilder b = new PfsyncPacketBuilder(packetBudget);
      if (startDue) {
        // BUS START goes alone: a packet groups messages by action, and START must reach the peer
        // before the states.
        b.add(new PfsyncMessage.Bus(hostId, 0, PfsyncMessage.Bus.START));
        startDue = false;
      } else {
        fill(b);
      }
      long[] echoes =
          answering.isEmpty() ? NO_ECHOES : answering.stream().mapToLong(Long::longValue).toArray();
      into.add(new SyncCore.Outgoing(b.build(), requestNonce, echoes));
      sent++;
    }
    if (!endDue) { // the BUS END went out with them
      answering.clear();
      joinedAt.clear();
      applied.clear();
    }
  }

  /** As many states as fit, then BUS END if they are all out and it fits too. */
  private void fill(PfsyncPacketBuilder b) {
    while (true) {
      PfsyncMessage m = carried != null ? carried : next();
      carried = null;
      if (m == null) return;
      if (!b.add(m)) {
        carried = m;
        return;
      }
      if (m instanceof PfsyncMessage.Bus) {
        endDue = false;
        return;
      }
    }
  }

  /** The next message of the bulk, built now: a state still in the table, else BUS END. */
  private PfsyncMessage next() {
    for (Tracked t; (t = states.poll()) != null; )
      if (table.byId(t.id) == t) return new PfsyncMessage.Upd(t.state());
    return endDue ? new PfsyncMessage.Bus(hostId, 0, PfsyncMessage.Bus.END) : null;
  }
}
