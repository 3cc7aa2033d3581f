package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncState;
import dev.carpoperator.agent.sync.SyncTable.GlobalId;
import dev.carpoperator.agent.sync.SyncTable.Tracked;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The messages waiting to be sent (not the bulk): one per state, several changes of a state
 * collapsed into one message, and control messages (UPD_REQ). They wait at most {@code maxDelay} or
 * until {@link #FULL_PACKETS} packets are full. Part of {@link SyncCore}; not thread-safe.
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

  private final SyncTable table;
  private final SyncCounters counters;
  private final int packetBudget;
  private final long maxDelayNanos;

  private final LinkedHashMap<GlobalId, Pending> pending = new LinkedHashMap<>();
  private final List<PfsyncMessage> pendingControl = new ArrayList<>();
  private long pendingBytes;
  private long oldestPendingAt = Long.MIN_VALUE;

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
    pendingControl.add(m);
    pendingBytes += PfsyncEncoder.encodeMessage(m).length;
    markPending(now);
    if (m.equals(PfsyncMessage.UpdReq.BULK))
      oldestPendingAt = now - maxDelayNanos; // nothing to batch it with
  }

  /**
   * A burst is sent once several packets' worth is queued, so that only the last of them goes out
   * part-filled.
   */
  boolean due(long now) {
    return oldestPendingAt != Long.MIN_VALUE
        && (now - oldestPendingAt >= maxDelayNanos
            || pendingBytes >= (long) FULL_PACKETS * packetBudget);
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
            }
          }
          counters.statesSent.incrementAndGet();
        });
    pending.clear();
    pendingBytes = 0;
    oldestPendingAt = Long.MIN_VALUE;
    return messages.isEmpty() ? List.of() : PfsyncEncoder.pack(messages, packetBudget);
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
