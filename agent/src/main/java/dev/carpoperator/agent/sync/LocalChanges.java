package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.sync.ChangeQueue.Pending;
import dev.carpoperator.agent.sync.SyncTable.GlobalId;
import dev.carpoperator.agent.sync.SyncTable.Tracked;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the local kernel's table and its changes mean for the peers: new entries go out as INS,
 * changes as UPD_C, deletions as DEL_C (queued in the {@link ChangeQueue}); a periodic dump catches
 * what events cannot tell. Deletions of states created elsewhere are only announced when traffic
 * touched them here: an entry that merely expired on a backup must not delete the master's live
 * state. Part of {@link SyncCore}; not thread-safe.
 */
final class LocalChanges {
  private static final long NANOS = SyncTable.NANOS;

  /**
   * States this node owns are re-sent at least this often: pfsync has no acknowledgements, so a
   * lost INS would otherwise leave the peers without the state until it changes (OpenBSD repairs it
   * with the updates that every packet of the connection triggers; Linux gives us no per-packet
   * events).
   */
  static final long REANNOUNCE_NANOS = 60 * NANOS;

  /**
   * Status bits a peer cares about; the kernel sets others (CONFIRMED, NAT_DONE) on entries we
   * wrote.
   */
  private static final int SIGNIFICANT_STATUS =
      ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED;

  private final int hostId;
  private final SyncTable table;
  private final ChangeQueue changes;
  private long nextId;

  /**
   * @param idBase the first id of the states created here
   */
  LocalChanges(int hostId, long idBase, SyncTable table, ChangeQueue changes) {
    this.hostId = hostId;
    this.nextId = idBase;
    this.table = table;
    this.changes = changes;
  }

  /**
   * Takes the kernel's table as ours at start: ids assigned, nothing announced (peers hear about
   * these states when they change, when {@link #refresh} finds them active, or when they ask by
   * bulk).
   */
  void adopt(List<ConntrackEntry> kernelTable, long now) {
    for (ConntrackEntry e : kernelTable) {
      if (table.contains(e.key())) continue;
      Tracked t = table.track(newId(), e);
      t.peerCopyRenewed(now); // treat as known: no announcement storm at start
      t.lastAnnounced = now; // the periodic re-announcement brings them to peers that lack them
    }
  }

  void event(ConntrackKernel.EventType type, ConntrackEntry e, long now) {
    Tracked t = table.byKey(e.key());
    switch (type) {
      case NEW, UPDATE -> {
        if (t == null) {
          t = table.track(newId(), e);
          t.localActivity = true;
          changes.queue(t.id, Pending.INS, now);
        } else {
          table.replace(t, e);
          t.localActivity = true;
          changes.queue(t.id, Pending.UPD_C, now);
        }
      }
      case DESTROY -> {
        if (t == null) return;
        table.untrack(t);
        if (announcesDeletion(t)) changes.queueDelete(t, now);
      }
    }
  }

  /**
   * A dump is about to be read off the loop: from now the table notes the keys that change, so that
   * {@link #refresh} does not take the dump's older view of them.
   */
  void dumpStarting() {
    table.startJournal();
  }

  boolean dumpUnderWay() {
    return table.journaling();
  }

  /** The dump started by {@link #dumpStarting} failed: stop noting. */
  void dumpAbandoned() {
    table.endJournal();
  }

  /**
   * Reconciles with a full dump of the kernel table: announces states whose timer the kernel
   * refreshed (traffic here) once the peers' copy has less than half of the local lifetime left,
   * picks up entries whose events were lost (netlink overrun), forgets entries that vanished, and
   * re-sends the states this node owns every {@link #REANNOUNCE_NANOS} (repairing lost packets).
   */
  void refresh(List<ConntrackEntry> dump, long now) {
    // Keys that changed while the dump was read (off this thread): their events and imports came
    // after the dump saw them, so they are newer than the dump, whether there or not.
    Set<ConntrackEntry.Key> changedSince = table.endJournal();
    Set<ConntrackEntry.Key> seen = new HashSet<>();
    for (ConntrackEntry e : dump) {
      seen.add(e.key());
      if (changedSince.contains(e.key())) continue;
      Tracked t = table.byKey(e.key());
      if (t == null) {
        event(ConntrackKernel.EventType.NEW, e, now);
        continue;
      }
      boolean changed =
          e.tcpState() != t.entry.tcpState()
              || (e.status() & ~t.entry.status() & SIGNIFICANT_STATUS) != 0;
      long peerLeft = t.peerExpiry == Long.MIN_VALUE ? Long.MIN_VALUE : t.peerExpiry - now;
      boolean peerCopyAging = peerLeft < e.timeoutSeconds() * NANOS / 2;
      boolean owned = t.id.creator() == hostId || t.localActivity;
      boolean due =
          owned && (t.lastAnnounced == Long.MIN_VALUE || now - t.lastAnnounced >= REANNOUNCE_NANOS);
      table.replace(t, e);
      if (changed || peerCopyAging || due) {
        t.localActivity = true;
        changes.queue(t.id, Pending.UPD_C, now);
      }
    }
    for (Tracked t : table.snapshot()) {
      if (seen.contains(t.entry.key()) || changedSince.contains(t.entry.key())) continue;
      table.untrack(t);
      if (announcesDeletion(t)) changes.queueDelete(t, now);
    }
  }

  private boolean announcesDeletion(Tracked t) {
    return t.id.creator() == hostId || t.localActivity;
  }

  private GlobalId newId() {
    return new GlobalId(nextId++, hostId);
  }
}
