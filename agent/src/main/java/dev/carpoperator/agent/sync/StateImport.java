package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncState;
import dev.carpoperator.agent.sync.ChangeQueue.Pending;
import dev.carpoperator.agent.sync.SyncTable.GlobalId;
import dev.carpoperator.agent.sync.SyncTable.Tracked;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;

/**
 * What the states received from peers do to the table: the kernel writes they need ({@link
 * KernelEffect}s), decided without a kernel. The table is changed at once as if every write
 * succeeds (the next message of the same packet may build on it); a failure reported back undoes
 * the change, so the table ends as it would had the write been tried first: a state the kernel
 * refused is not tracked, a refused update leaves our copy as it was. Part of {@link SyncCore}; not
 * thread-safe.
 */
final class StateImport {

  /**
   * A Create or Update whose outcome is awaited, and what its failure undoes.
   *
   * @param forget on failure, forget the state (a create): first put {@code before} back if set
   * @param before the entry before the write (null for a new state)
   * @param addedId the id the write added to the state, or null
   */
  private record InFlight(
      KernelEffect.Write write,
      Tracked t,
      boolean forget,
      ConntrackEntry before,
      long expiryBefore,
      GlobalId addedId) {}

  private final int hostId;
  private final SyncTable table;
  private final ChangeQueue changes;
  private final SyncCounters counters;

  /** Outcomes awaited, in the order of the writes (deletes are not awaited). */
  private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();

  StateImport(int hostId, SyncTable table, ChangeQueue changes, SyncCounters counters) {
    this.hostId = hostId;
    this.table = table;
    this.changes = changes;
    this.counters = counters;
  }

  /** A new call to the core: outcomes not reported for the writes of earlier calls are dropped. */
  void newCall() {
    inFlight.clear();
  }

  /** INS or UPD: the full state. */
  void importState(PfsyncState s, long now, List<KernelEffect> out) {
    counters.statesReceived.incrementAndGet();
    StateMapper.Import imp = StateMapper.toEntry(s);
    if (!imp.ok()) {
      counters.stateRejected(imp.refusal().name().toLowerCase(Locale.ROOT));
      return;
    }
    ConntrackEntry incoming = imp.entry();
    GlobalId gid = new GlobalId(s.id(), s.creatorid());
    Tracked t = table.byId(gid);
    if (t == null) t = table.byKey(incoming.key());
    if (t == null) {
      if (!makeRoomForReply(incoming, null, out)) return;
      t = table.track(gid, incoming);
      t.peerCopyRenewed(now);
      awaited(out, new KernelEffect.Create(incoming), t, true, null, Long.MIN_VALUE, null);
      return;
    }
    ConntrackEntry current = t.entry;
    long expiryBefore = t.peerExpiry;
    KernelEffect.Write write;
    boolean replace = !current.reply().equals(incoming.reply());
    if (replace) {
      // NAT differs and the kernel cannot change NAT on an entry: replace it (e.g. a BSD peer's
      // outbound state with nat-to arriving after its inbound state).
      if (!makeRoomForReply(incoming, t, out)) return;
      out.add(new KernelEffect.Delete(current));
      table.replace(t, incoming);
      table.indexReply(t);
      write = new KernelEffect.Create(incoming);
    } else {
      ConntrackEntry merged =
          merge(current, incoming.status(), incoming.timeoutSeconds(), incoming.tcpState(), t, now);
      if (merged == null) return;
      table.replace(t, merged);
      write = new KernelEffect.Update(merged);
    }
    GlobalId added = table.addId(gid, t) ? gid : null;
    t.peerCopyRenewed(now);
    awaited(out, write, t, replace, current, expiryBefore, added);
  }

  /**
   * Whether {@code incoming} may go into the table although another state there has its reply tuple
   * (the kernel refuses such an entry). This happens with a Kubernetes Service of policy Cluster
   * whose pod runs on a node of the cluster: the master translates the client's connection (DNAT to
   * the pod, SNAT to itself), and the pod's node tracks the second leg untranslated, with the same
   * reply tuple. Both nodes sync their entry. The translated one is what a new master needs to go
   * on forwarding the client's packets, so it wins over a peer's untranslated one, whichever came
   * first. A state of our own is never replaced (this node forwards it), and of two translated
   * states the first stays.
   */
  private boolean makeRoomForReply(ConntrackEntry incoming, Tracked self, List<KernelEffect> out) {
    Tracked clash = table.byReply(incoming);
    if (clash == null || clash == self) return true;
    boolean incomingTranslated = incoming.sourceNat() || incoming.destinationNat();
    boolean clashTranslated = clash.entry.sourceNat() || clash.entry.destinationNat();
    if (clash.id.creator() == hostId || !incomingTranslated || clashTranslated) {
      counters.stateRejected("reply_clash");
      return false;
    }
    table.untrack(clash);
    out.add(new KernelEffect.Delete(clash.entry));
    counters.replyClashesResolved.incrementAndGet();
    return true;
  }

  void updateCompressed(PfsyncMessage.UpdC u, long now, List<KernelEffect> out) {
    counters.statesReceived.incrementAndGet();
    Tracked t = table.byId(new GlobalId(u.id(), u.creatorid()));
    if (t == null) {
      counters.updatesRequested.incrementAndGet();
      changes.control(new PfsyncMessage.UpdReq(u.id(), u.creatorid()), now);
      return;
    }
    if (u.expire() == 0) {
      counters.stateRejected("expired");
      return;
    }
    ConntrackEntry current = t.entry;
    int status = current.status() | StateMapper.udpLikeStatus(u.src().state(), u.dst().state());
    int tcpState =
        current.isTcp() ? StateMapper.linuxTcpState(u.src().state(), u.dst().state()) : -1;
    if (current.isTcp() && tcpState == ConntrackEntry.TCP_ESTABLISHED) {
      status |= ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED;
    }
    ConntrackEntry merged =
        merge(current, status, Integer.toUnsignedLong(u.expire()), tcpState, t, now);
    if (merged == null) return;
    long expiryBefore = t.peerExpiry;
    table.replace(t, merged);
    t.peerCopyRenewed(now);
    awaited(out, new KernelEffect.Update(merged), t, false, current, expiryBefore, null);
  }

  /**
   * The entry after a peer's update, or null when the update is stale: a TCP state behind ours
   * means the peer has not seen what we saw (pfsync's stale rule, docs/protocols/pfsync.md §8, on
   * the only TCP information Linux has), so we re-announce ours.
   */
  private ConntrackEntry merge(
      ConntrackEntry current, int status, long timeout, int tcpState, Tracked t, long now) {
    if (current.isTcp() && tcpProgress(tcpState) < tcpProgress(current.tcpState())) {
      counters.staleUpdates.incrementAndGet();
      changes.queue(t.id, Pending.UPD_C, now);
      return null;
    }
    int liberal = ConntrackEntry.TCP_FLAG_BE_LIBERAL;
    ConntrackEntry merged =
        current.withDynamic(current.status() | status, timeout, current.isTcp() ? tcpState : -1);
    return current.isTcp()
        ? merged.withTcpFlags(
            current.tcpFlagsOriginal() | liberal, current.tcpFlagsReply() | liberal)
        : merged;
  }

  /**
   * Orders Linux TCP states by how far a connection has got (SYN_SENT2, simultaneous open, sits
   * with SYN_SENT).
   */
  static int tcpProgress(int linuxState) {
    return switch (linuxState) {
      case ConntrackEntry.TCP_SYN_SENT, ConntrackEntry.TCP_SYN_SENT2 -> 1;
      case ConntrackEntry.TCP_SYN_RECV -> 2;
      case ConntrackEntry.TCP_ESTABLISHED -> 3;
      case ConntrackEntry.TCP_FIN_WAIT -> 4;
      case ConntrackEntry.TCP_CLOSE_WAIT -> 5;
      case ConntrackEntry.TCP_LAST_ACK -> 6;
      case ConntrackEntry.TCP_TIME_WAIT -> 7;
      case ConntrackEntry.TCP_CLOSE -> 8;
      default -> 0;
    };
  }

  /** DEL_C or DEL. */
  void deleteById(GlobalId gid, List<KernelEffect> out) {
    counters.statesReceived.incrementAndGet();
    Tracked t = table.byId(gid);
    if (t == null) return;
    table.untrack(t);
    out.add(new KernelEffect.Delete(t.entry));
    counters.statesApplied.incrementAndGet();
  }

  /**
   * CLR: every state of that creator goes (OpenBSD may limit it to one interface; our states
   * float). Only the creator clears its own states, so a CLR naming ours is not from a peer (a
   * forger on an unauthenticated link, or a peer given our hostid): obeying it would wipe the
   * connections this node carries.
   */
  void clear(int creator, List<KernelEffect> out) {
    if (creator == hostId) {
      counters.stateRejected("clr_own_creator");
      return;
    }
    for (Tracked t : table.snapshot()) {
      if (t.id.creator() != creator) continue;
      table.untrack(t);
      out.add(new KernelEffect.Delete(t.entry));
    }
  }

  // ---------------------------------------------------------------- outcomes

  void written(KernelEffect.Write w) {
    if (take(w) != null) counters.statesApplied.incrementAndGet();
  }

  void failed(KernelEffect.Write w) {
    counters.stateRejected("kernel_" + w.what());
    InFlight f = take(w);
    // A later message of the same packet changed the state since: its own write decides.
    if (f == null || f.t().entry != w.entry()) return;
    Tracked t = f.t();
    if (f.forget()) {
      if (f.before() != null) table.replace(t, f.before());
      table.untrack(t);
      return;
    }
    table.replace(t, f.before());
    table.indexReply(t);
    t.peerExpiry = f.expiryBefore();
    if (f.addedId() != null) table.removeId(f.addedId(), t);
  }

  private void awaited(
      List<KernelEffect> out,
      KernelEffect.Write w,
      Tracked t,
      boolean forget,
      ConntrackEntry before,
      long expiryBefore,
      GlobalId addedId) {
    out.add(w);
    inFlight.add(new InFlight(w, t, forget, before, expiryBefore, addedId));
  }

  /** The awaited write {@code w}, if it is the next one awaited (the executor reports in order). */
  private InFlight take(KernelEffect.Write w) {
    InFlight f = inFlight.peek();
    return f != null && f.write() == w ? inFlight.poll() : null;
  }
}
