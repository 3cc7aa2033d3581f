package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncState;
import dev.carpoperator.agent.sync.SyncTable.GlobalId;
import dev.carpoperator.agent.sync.SyncTable.Tracked;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The messages waiting to be sent (not the bulk): one per state, several changes of a state
 * collapsed into one message, and control messages (UPD_REQ). They wait at most {@code maxDelay} or
 * until {@link #FULL_PACKETS} packets are full. An established TCP connection is announced once
 * more {@link #INS_FOLLOW_UP_NANOS} after its INS ({@link #followUps}). Part of {@link SyncCore};
 * not thread-safe.
 */
final class ChangeQueue {

  enum Pending {
    INS,
    UPD,
    UPD_C,
    DEL_C
  }

  /** Queued bytes, in packets, that are sent without waiting for the delay. */
  static final int FULL_PACKETS = 8;

  /**
   * How long after its INS an established TCP connection is announced once more, as UPD_C, if it is
   * still here. pfsync has no acknowledgements, and Linux reports nothing more about an established
   * connection until it closes, so a peer that missed the one packet with its INS would lack the
   * state until the 60 s re-announcement ({@link LocalChanges#REANNOUNCE_NANOS}), and could not
   * carry the connection if it took over meanwhile: with {@code nf_conntrack_tcp_loose=0} a packet
   * in mid-stream creates no entry (a UDP flow is simply opened again by its next packet). In
   * OpenBSD every packet of a connection queues an UPD_C (docs/protocols/pfsync.md §7), so a peer
   * that missed the INS asks for the state with UPD_REQ within a second or two; this follow-up
   * gives the same repair for one 84-byte message per connection that lives that long. The torture
   * test's second finding (docs/torture.md) lost four sessions for want of it.
   */
  static final long INS_FOLLOW_UP_NANOS = 2 * SyncTable.NANOS;

  /** An INS sent, and when its follow-up is due. */
  private record FollowUp(GlobalId id, long dueAt) {}

  private final SyncTable table;
  private final SyncCounters counters;
  private final int packetBudget;
  private final long maxDelayNanos;

  private final LinkedHashMap<GlobalId, Pending> pending = new LinkedHashMap<>();
  private final List<PfsyncMessage> pendingControl = new ArrayList<>();
  private long pendingBytes;
  private long oldestPendingAt = Long.MIN_VALUE;

  /** INS sent, oldest first (sent in time order, so due in that order). */
  private final ArrayDeque<FollowUp> followUps = new ArrayDeque<>();

  ChangeQueue(SyncTable table, SyncCounters counters, int packetBudget, long maxDelayNanos) {
    this.table = table;
    this.counters = counters;
    this.packetBudget = packetBudget;
    this.maxDelayNanos = maxDelayNanos;
  }

  void queue(GlobalId id, Pending kind, long now) {
    Pending before = pending.get(id);
    Pending after =
        before == null
            ? kind
            : switch (before) {
              case INS -> Pending.INS; // not sent yet: the INS will carry the latest data
              case UPD -> Pending.UPD;
              case UPD_C -> kind == Pending.UPD ? Pending.UPD : Pending.UPD_C;
              case DEL_C -> kind; // deleted and back again under the same id
            };
    pending.put(id, after);
    pendingBytes += size(after) - (before == null ? 0 : size(before));
    markPending(now);
  }

  void queueDelete(Tracked t, long now) {
    Pending before = pending.get(t.id);
    if (before == Pending.INS) { // never announced: nothing to delete at the peers
      pending.remove(t.id);
      pendingBytes -= size(Pending.INS);
      return;
    }
    pending.put(t.id, Pending.DEL_C);
    pendingBytes += size(Pending.DEL_C) - (before == null ? 0 : size(before));
    markPending(now);
  }

  void control(PfsyncMessage m, long now) {
    if (isProgress(m)) { // only the latest count matters
      var i = pendingControl.iterator();
      while (i.hasNext())
        if (i.next() instanceof PfsyncMessage.Bus bus
            && isProgress(bus)
            && bus.creatorid() == ((PfsyncMessage.Bus) m).creatorid()) {
          i.remove();
          pendingBytes -= PfsyncEncoder.encodeMessage(bus).length;
        }
    }
    pendingControl.add(m);
    pendingBytes += PfsyncEncoder.encodeMessage(m).length;
    markPending(now);
    if (m.equals(PfsyncMessage.UpdReq.BULK) || isProgress(m))
      oldestPendingAt = now - maxDelayNanos; // nothing to batch it with, and the peer waits for it
  }

  /**
   * Queues the follow-up UPD_C of each INS sent {@link #INS_FOLLOW_UP_NANOS} ago or earlier whose
   * state is still tracked and an established TCP connection (ASSURED); a peer that lacks the state
   * asks for it with UPD_REQ. States that are gone, half-open connections (e.g. of a SYN flood) and
   * other protocols get none.
   */
  void followUps(long now) {
    while (!followUps.isEmpty() && now - followUps.peek().dueAt() >= 0) {
      GlobalId id = followUps.poll().id();
      Tracked t = table.byId(id);
      if (t != null && t.entry.isTcp() && (t.entry.status() & ConntrackEntry.IPS_ASSURED) != 0)
        queue(id, Pending.UPD_C, now);
    }
  }

  /**
   * A burst is sent once several packets' worth is queued, so that only the last of them goes out
   * part-filled.
   */
  boolean due(long now) {
    return oldestPendingAt != Long.MIN_VALUE && (now - oldestPendingAt >= maxDelayNanos || full());
  }

  /** A burst's worth ({@link #FULL_PACKETS} packets) is queued. */
  boolean full() {
    return pendingBytes >= (long) FULL_PACKETS * packetBudget;
  }

  /** Everything queued, as pfsync packets; the queue is empty afterwards. */
  List<byte[]> flush(long now) {
    List<PfsyncMessage> messages = new ArrayList<>(pendingControl);
    pendingControl.clear();
    pending.forEach(
        (gid, kind) -> {
          Tracked t = table.byId(gid);
          switch (kind) {
            case DEL_C -> messages.add(new PfsyncMessage.DelC(gid.id(), gid.creator()));
            case INS, UPD, UPD_C -> {
              if (t == null)
                return; // untracked since: its DEL_C replaced this, or it was never announced
              PfsyncState s = t.state();
              messages.add(
                  switch (kind) {
                    case INS -> new PfsyncMessage.Ins(s);
                    case UPD -> new PfsyncMessage.Upd(s);
                    default ->
                        new PfsyncMessage.UpdC(
                            s.id(),
                            s.src(),
                            s.dst(),
                            s.creatorid(),
                            s.expire(),
                            s.timeout(),
                            s.stateFlags() & 0xff);
                  });
              t.peerCopyRenewed(now);
              t.lastAnnounced = now;
              if (kind == Pending.INS) followUps.add(new FollowUp(gid, now + INS_FOLLOW_UP_NANOS));
            }
          }
          counters.statesSent.incrementAndGet();
        });
    pending.clear();
    pendingBytes = 0;
    oldestPendingAt = Long.MIN_VALUE;
    return messages.isEmpty() ? List.of() : PfsyncEncoder.pack(messages, packetBudget);
  }

  private static boolean isProgress(PfsyncMessage m) {
    return m instanceof PfsyncMessage.Bus bus && bus.status() == PfsyncMessage.Bus.PROGRESS;
  }

  private void markPending(long now) {
    if (oldestPendingAt == Long.MIN_VALUE) oldestPendingAt = now;
  }

  private static int size(Pending p) {
    return switch (p) {
      case INS, UPD -> Pfsync.STATE_LENGTH;
      case UPD_C -> 84;
      case DEL_C -> 12;
    };
  }
}
