package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.PfsyncState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The states the sync knows (local ones and the peers'), by kernel key and by pfsync id: what
 * {@link SyncCore} believes the kernel table holds. Not thread-safe.
 */
final class SyncTable {
  static final long NANOS = 1_000_000_000L;

  /** The pair that names a state on every node. */
  record GlobalId(long id, int creator) {}

  static final class Tracked {
    final GlobalId id;

    /**
     * Every id this connection is known by: usually just {@link #id}; a BSD peer may have an
     * inbound and an outbound state.
     */
    final List<GlobalId> ids = new ArrayList<>(1);

    ConntrackEntry entry;

    /**
     * Traffic changed it here (kernel events or a refreshed timer), so our view is worth
     * announcing.
     */
    boolean localActivity;

    /**
     * When the peers' copy expires, as far as we know (nanos); Long.MIN_VALUE if never announced.
     */
    long peerExpiry = Long.MIN_VALUE;

    /** When we last sent this state (nanos); Long.MIN_VALUE if never. */
    long lastAnnounced = Long.MIN_VALUE;

    Tracked(GlobalId id, ConntrackEntry entry) {
      this.id = id;
      this.entry = entry;
      ids.add(id);
    }

    /** The peers' copy is as fresh as ours as of {@code now}. */
    void peerCopyRenewed(long now) {
      peerExpiry = now + entry.timeoutSeconds() * NANOS;
    }

    PfsyncState state() {
      return StateMapper.toState(entry, id.id(), id.creator());
    }
  }

  private final Map<ConntrackEntry.Key, Tracked> byKey = new HashMap<>();
  private final Map<GlobalId, Tracked> byId = new HashMap<>();

  /**
   * By reply tuple, as the kernel also hashes entries: two entries with one reply tuple cannot both
   * be in a kernel table. Kept up to date lazily: {@link #byReply} checks that a hit still has that
   * reply.
   */
  private final Map<ConntrackEntry.Key, Tracked> byReply = new HashMap<>();

  Tracked byKey(ConntrackEntry.Key key) {
    return byKey.get(key);
  }

  Tracked byId(GlobalId id) {
    return byId.get(id);
  }

  /** The tracked state whose reply tuple is that of {@code e}, if any. */
  Tracked byReply(ConntrackEntry e) {
    ConntrackEntry.Key k = replyKey(e);
    Tracked t = byReply.get(k);
    if (t == null) return null;
    if (byKey.get(t.entry.key()) == t && replyKey(t.entry).equals(k)) return t;
    byReply.remove(k, t); // stale: the state went or its entry was replaced
    return null;
  }

  /** Indexes {@code t} by its entry's reply tuple (after its entry was replaced). */
  void indexReply(Tracked t) {
    byReply.put(replyKey(t.entry), t);
  }

  private static ConntrackEntry.Key replyKey(ConntrackEntry e) {
    ConntrackEntry.Key k = e.key();
    return new ConntrackEntry.Key(k.zone(), k.protocol(), e.reply());
  }

  boolean contains(ConntrackEntry.Key key) {
    return byKey.containsKey(key);
  }

  int size() {
    return byKey.size();
  }

  /** Every state, a live view (do not change the table while iterating it). */
  Collection<Tracked> all() {
    return byKey.values();
  }

  /** Every state, a copy to iterate while changing the table. */
  List<Tracked> snapshot() {
    return List.copyOf(byKey.values());
  }

  /**
   * Keys whose state was tracked, replaced or untracked since {@link #startJournal}; null when no
   * journal is kept. A dump read off the loop thread is older than these changes for these keys.
   */
  private Set<ConntrackEntry.Key> journal;

  /** Starts noting the keys that change (a dump is being read elsewhere). */
  boolean journaling() {
    return journal != null;
  }

  void startJournal() {
    journal = new HashSet<>();
  }

  /**
   * The keys that changed since {@link #startJournal} (empty if none was started); stops noting.
   */
  Set<ConntrackEntry.Key> endJournal() {
    Set<ConntrackEntry.Key> keys = journal == null ? Set.of() : journal;
    journal = null;
    return keys;
  }

  private void noteChanged(ConntrackEntry.Key key) {
    if (journal != null) journal.add(key);
  }

  /** Replaces {@code t}'s entry (a newer view of the same connection). */
  void replace(Tracked t, ConntrackEntry e) {
    noteChanged(t.entry.key());
    noteChanged(e.key());
    t.entry = e;
  }

  Tracked track(GlobalId id, ConntrackEntry e) {
    noteChanged(e.key());
    Tracked t = new Tracked(id, e);
    byKey.put(e.key(), t);
    byId.put(id, t);
    byReply.put(replyKey(e), t);
    return t;
  }

  void untrack(Tracked t) {
    noteChanged(t.entry.key());
    byKey.remove(t.entry.key(), t);
    byReply.remove(replyKey(t.entry), t);
    for (GlobalId id : t.ids) byId.remove(id, t);
  }

  /**
   * Names {@code t} also by {@code id} (the same connection under another id: a BSD peer's second
   * state, or both nodes created it); false if the id already names a state.
   */
  boolean addId(GlobalId id, Tracked t) {
    if (byId.putIfAbsent(id, t) != null) return false;
    t.ids.add(id);
    return true;
  }

  /** Undoes {@link #addId}. */
  void removeId(GlobalId id, Tracked t) {
    if (byId.remove(id, t)) t.ids.remove(id);
  }
}
