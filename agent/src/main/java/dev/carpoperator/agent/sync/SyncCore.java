package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncPacketBuilder;
import dev.carpoperator.agent.pfsync.PfsyncState;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The state-sync protocol, without sockets or threads: kernel events and received pfsync packets
 * in, pfsync packets out, writes to the kernel table through the injected {@link ConntrackKernel}.
 * Time is passed in (monotonic nanoseconds), so tests drive it with a fake clock. Not thread-safe:
 * the runtime calls it from one thread.
 *
 * <p>What it does, following OpenBSD's pfsync (protocols.md §5.7–5.9) where Linux allows:
 *
 * <ul>
 *   <li>Local changes: a new entry goes out as INS, a change as UPD_C, a deletion as DEL_C.
 *       Messages wait at most {@code maxDelay} (or until {@link #FULL_PACKETS} packets are full),
 *       and several changes of one state collapse into one message.
 *   <li>Received INS/UPD are written into the kernel (BE_LIBERAL, NAT from the reply tuple); UPD_C
 *       updates a known state, or asks for the full state with UPD_REQ when unknown; DEL_C and CLR
 *       delete; UPD_REQ(0,0) starts a bulk send (BUS START, every state as UPD paced one packet per
 *       {@code bulkInterval}, BUS END).
 *   <li>At start, it asks for a bulk update and reports {@link BulkState} so the runtime holds CARP
 *       demoted until the table is in (or {@code bulkTimeout} passes without progress).
 *   <li>Linux does not report timer refreshes, so {@link #refresh} (a periodic kernel dump)
 *       re-announces states whose peer copy has less than half of the local remaining lifetime, and
 *       catches missed events.
 *   <li>Deletions of states created elsewhere are only announced when traffic touched them here; an
 *       entry that merely expired on a backup must not delete the master's live state.
 * </ul>
 */
public final class SyncCore {

  /**
   * @param hostId our pf hostid (creatorid), non-zero
   * @param idBase first state id; OpenBSD uses (boot time in seconds) << 32 so ids stay unique
   *     across restarts
   * @param packetBudget pfsync bytes per packet ({@code Pfsync.payloadBudget(mtu)} minus the
   *     envelope trailer)
   * @param maxDelayNanos longest a queued change waits before it is sent
   * @param bulkIntervalNanos pause between two bulk packets
   * @param bulkRetryNanos how often the bulk request is repeated while nobody answers
   * @param bulkTimeoutNanos give up the bulk after this long without an answer or progress
   */
  public record Settings(
      int hostId,
      long idBase,
      int packetBudget,
      long maxDelayNanos,
      long bulkIntervalNanos,
      long bulkRetryNanos,
      long bulkTimeoutNanos) {
    public Settings {
      if (hostId == 0)
        throw new IllegalArgumentException(
            "hostId must not be 0 (pfsync peers refuse creatorid 0)");
      if (packetBudget < PfsyncPacketBuilder.MIN_BUDGET)
        throw new IllegalArgumentException("packet budget too small: " + packetBudget);
    }
  }

  /** Things worth a log line, reported to the runtime. */
  public interface Observer {
    default void bulkStateChanged(BulkState from, BulkState to, String detail) {}

    default void kernelWriteFailed(String what, ConntrackEntry entry, ConntrackException e) {}

    default void packetRejected(String reason, String detail) {}

    default void bulkServed(int states) {}
  }

  /**
   * A packet to send: the pfsync bytes, the nonce of our pending bulk request (0: none) and the
   * nonces of the bulk requests it answers. The envelope carries the nonces in authenticated mode;
   * bsd-compatible mode sends the bytes.
   */
  public record Outgoing(byte[] pfsync, long requestNonce, long[] echoes) {}

  /** The pair that names a state on every node. */
  record GlobalId(long id, int creator) {}

  private static final class Tracked {
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
  }

  private enum Pending {
    INS,
    UPD,
    UPD_C,
    DEL_C
  }

  private static final long NANOS = 1_000_000_000L;

  /**
   * States this node owns are re-sent at least this often: pfsync has no acknowledgements, so a
   * lost INS would otherwise leave the peers without the state until it changes (OpenBSD repairs it
   * with the updates that every packet of the connection triggers; Linux gives us no per-packet
   * events).
   */
  static final long REANNOUNCE_NANOS = 60 * NANOS;

  /** Queued bytes, in packets, that are sent without waiting for the delay. */
  static final int FULL_PACKETS = 8;

  /**
   * Status bits a peer cares about; the kernel sets others (CONFIRMED, NAT_DONE) on entries we
   * wrote.
   */
  private static final int SIGNIFICANT_STATUS =
      ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED;

  private final Settings settings;
  private final ConntrackKernel kernel;
  private final Observer observer;
  private final SyncCounters counters;

  private final Map<ConntrackEntry.Key, Tracked> byKey = new HashMap<>();
  private final Map<GlobalId, Tracked> byId = new HashMap<>();
  private final LinkedHashMap<GlobalId, Pending> pending = new LinkedHashMap<>();
  private final List<PfsyncMessage> pendingControl = new ArrayList<>();
  private long pendingBytes;
  private long oldestPendingAt = Long.MIN_VALUE;
  private long nextId;

  private final ArrayDeque<PfsyncMessage> bulkOut = new ArrayDeque<>();
  private long nextBulkPacketAt;

  /** Bulk packets one poll may catch up with (see {@link #poll}). */
  static final int MAX_BULK_PACKETS_PER_POLL = 16;

  private BulkState bulkState = BulkState.IDLE;
  private long bulkStartedAt;
  private long lastBulkActivity;
  private int bulkPeer;
  private long bulkReceivedThisRun;

  /**
   * The challenge of our current bulk request; a BUS message counts only in a packet echoing it
   * (authenticated mode).
   */
  private long bulkNonce;

  /** Nonces of the requests the bulk under way answers, newest last. */
  private final LinkedHashSet<Long> answering = new LinkedHashSet<>();

  private final LongSupplier nonces;
  private final ReplayWindow sessions = new ReplayWindow();

  public SyncCore(
      Settings settings, ConntrackKernel kernel, Observer observer, SyncCounters counters) {
    this(settings, kernel, observer, counters, new SecureRandom()::nextLong);
  }

  /**
   * @param nonces random numbers for the bulk request challenges (tests pass a predictable source)
   */
  public SyncCore(
      Settings settings,
      ConntrackKernel kernel,
      Observer observer,
      SyncCounters counters,
      LongSupplier nonces) {
    this.nonces = Objects.requireNonNull(nonces);
    this.settings = Objects.requireNonNull(settings);
    this.kernel = Objects.requireNonNull(kernel);
    this.observer = observer == null ? new Observer() {} : observer;
    this.counters = counters == null ? new SyncCounters() : counters;
    this.nextId = settings.idBase();
  }

  public SyncCounters counters() {
    return counters;
  }

  public BulkState bulkState() {
    return bulkState;
  }

  /** States in the table (local and from peers). */
  public int tableSize() {
    return byKey.size();
  }

  /** States received in the current (or last) bulk update. */
  public long bulkReceived() {
    return bulkReceivedThisRun;
  }

  /**
   * Takes the kernel's current table as ours (ids assigned, nothing announced: peers hear about
   * these states when they change, when {@link #refresh} finds them active, or when they ask by
   * bulk), then asks the peers for their table if {@code requestBulk}.
   */
  public void start(long now, List<ConntrackEntry> kernelTable, boolean requestBulk) {
    for (ConntrackEntry e : kernelTable) {
      if (byKey.containsKey(e.key())) continue;
      Tracked t = track(new GlobalId(nextId++, settings.hostId()), e);
      t.peerExpiry =
          now + e.timeoutSeconds() * NANOS; // treat as known: no announcement storm at start
      t.lastAnnounced = now; // the periodic re-announcement brings them to peers that lack them
    }
    if (requestBulk) requestBulk(now, "asking peers for their states");
  }

  /**
   * Asks the peers for their whole table (again), as at start: e.g. when the sync link comes back,
   * since the states created while it was down never reached us. The runtime holds CARP demoted
   * while it is pending.
   */
  public void requestBulk(long now, String why) {
    bulkStartedAt = now;
    lastBulkActivity = now;
    bulkReceivedThisRun = 0;
    long n;
    do n = nonces.getAsLong();
    while (n == 0); // 0 means "no request" on the wire
    bulkNonce =
        n; // new per request, kept for its retries: answers to an older request no longer count
    setBulkState(BulkState.REQUESTING, why);
    control(PfsyncMessage.UpdReq.BULK, now);
  }

  // ---------------------------------------------------------------- local kernel changes

  /**
   * A change the kernel reported (never one we wrote ourselves: the kernel binding filters those).
   */
  public void kernelEvent(ConntrackKernel.EventType type, ConntrackEntry e, long now) {
    Tracked t = byKey.get(e.key());
    switch (type) {
      case NEW, UPDATE -> {
        if (t == null) {
          t = track(new GlobalId(nextId++, settings.hostId()), e);
          t.localActivity = true;
          queue(t.id, Pending.INS, now);
        } else {
          t.entry = e;
          t.localActivity = true;
          queue(t.id, Pending.UPD_C, now);
        }
      }
      case DESTROY -> {
        if (t == null) return;
        untrack(t);
        if (announcesDeletion(t)) queueDelete(t, now);
      }
    }
  }

  /**
   * Reconciles with a full dump of the kernel table: announces states whose timer the kernel
   * refreshed (traffic here) once the peers' copy has less than half of the local lifetime left,
   * picks up entries whose events were lost (netlink overrun), forgets entries that vanished, and
   * re-sends the states this node owns every {@link #REANNOUNCE_NANOS} (repairing lost packets).
   */
  public void refresh(List<ConntrackEntry> dump, long now) {
    Set<ConntrackEntry.Key> seen = new HashSet<>();
    for (ConntrackEntry e : dump) {
      seen.add(e.key());
      Tracked t = byKey.get(e.key());
      if (t == null) {
        kernelEvent(ConntrackKernel.EventType.NEW, e, now);
        continue;
      }
      boolean changed =
          e.tcpState() != t.entry.tcpState()
              || (e.status() & ~t.entry.status() & SIGNIFICANT_STATUS) != 0;
      long peerLeft = t.peerExpiry == Long.MIN_VALUE ? Long.MIN_VALUE : t.peerExpiry - now;
      boolean peerCopyAging = peerLeft < e.timeoutSeconds() * NANOS / 2;
      boolean owned = t.id.creator() == settings.hostId() || t.localActivity;
      boolean due =
          owned && (t.lastAnnounced == Long.MIN_VALUE || now - t.lastAnnounced >= REANNOUNCE_NANOS);
      t.entry = e;
      if (changed || peerCopyAging || due) {
        t.localActivity = true;
        queue(t.id, Pending.UPD_C, now);
      }
    }
    for (Tracked t : List.copyOf(byKey.values())) {
      if (seen.contains(t.entry.key())) continue;
      untrack(t);
      if (announcesDeletion(t)) queueDelete(t, now);
    }
  }

  private boolean announcesDeletion(Tracked t) {
    return t.id.creator() == settings.hostId() || t.localActivity;
  }

  // ---------------------------------------------------------------- received packets

  /**
   * Handles one pfsync packet of the unauthenticated (bsd-compatible) mode. Never throws on hostile
   * bytes.
   */
  public void receive(byte[] packet, int offset, int length, long now) {
    receive(packet, offset, length, now, true, true, 0);
  }

  /**
   * Handles a packet that {@link SyncEnvelope#open} authenticated and found fresh. Freshness across
   * our own restart:
   *
   * <ul>
   *   <li>{@link ReplayWindow} refuses counters of a session already seen;
   *   <li>BUS START and END count only in a packet that echoes the nonce of our current bulk
   *       request, so a BUS END recorded earlier cannot end our bulk with an incomplete table;
   *   <li>such a packet anchors its session: it is live, and nothing it sent before can be replayed
   *       to us;
   *   <li>while our bulk request is pending (just after a start), state messages are taken only
   *       from anchored sessions: a replay of what a peer sent before our start is dropped, and
   *       what it sent for real is in its bulk answer anyway.
   * </ul>
   *
   * What remains: a session that never answers our bulk (a peer that started after us, or one whose
   * answer was lost) can be replayed to us after our restart while its packets are younger than
   * {@link SyncEnvelope#FRESHNESS_WINDOW_MILLIS}.
   */
  public void receiveSealed(SyncEnvelope.Opened opened, long now) {
    if (!sessions.accept(opened.session(), opened.counter())) {
      counters.packetRejected("replay");
      observer.packetRejected(
          "replay",
          "replayed sync packet of session "
              + opened.session()
              + " (counter "
              + opened.counter()
              + " already seen)");
      return;
    }
    boolean answersUs = bulkState.pending() && opened.echoes(bulkNonce);
    if (answersUs) sessions.anchor(opened.session(), opened.counter());
    boolean statesTrusted = !bulkState.pending() || sessions.anchored(opened.session());
    byte[] p = opened.pfsync();
    receive(p, 0, p.length, now, answersUs, statesTrusted, opened.requestNonce());
  }

  private void receive(
      byte[] packet,
      int offset,
      int length,
      long now,
      boolean busTrusted,
      boolean statesTrusted,
      long requestNonce) {
    PfsyncDecodeResult result = PfsyncDecoder.decode(packet, offset, length);
    if (result instanceof PfsyncDecodeResult.Rejected r) {
      String reason = r.reason().name().toLowerCase(Locale.ROOT);
      counters.packetRejected(reason);
      observer.packetRejected(reason, r.detail());
      return;
    }
    counters.packetsReceived.incrementAndGet();
    PfsyncDecodeResult.Decoded d = (PfsyncDecodeResult.Decoded) result;
    if (d.skippedMessages() > 0) {
      d.skippedSections()
          .forEach(
              (reason, n) ->
                  counters.stateRejected("skipped_" + reason.name().toLowerCase(Locale.ROOT)));
    }
    // Sections come grouped by action, so a BUS END may precede the states it closes: take it last.
    for (PfsyncMessage m : d.messages())
      if (!isBusEnd(m)) handle(m, now, busTrusted, statesTrusted, requestNonce);
    for (PfsyncMessage m : d.messages())
      if (isBusEnd(m)) handle(m, now, busTrusted, statesTrusted, requestNonce);
  }

  private static boolean carriesState(PfsyncMessage m) {
    return m instanceof PfsyncMessage.Ins
        || m instanceof PfsyncMessage.Upd
        || m instanceof PfsyncMessage.UpdC
        || m instanceof PfsyncMessage.DelC
        || m instanceof PfsyncMessage.Del
        || m instanceof PfsyncMessage.Clr;
  }

  private static boolean isBusEnd(PfsyncMessage m) {
    return m instanceof PfsyncMessage.Bus bus && bus.status() == PfsyncMessage.Bus.END;
  }

  private void handle(
      PfsyncMessage m, long now, boolean busTrusted, boolean statesTrusted, long requestNonce) {
    if (!statesTrusted && carriesState(m)) {
      counters.stateRejected("unanchored");
      return;
    }
    if (m instanceof PfsyncMessage.Bus && !busTrusted) {
      // Not an answer to our current request: a bulk for another requester, or a recorded one.
      if (bulkState.pending()) counters.stateRejected("bus_not_for_us");
      return;
    }
    switch (m) {
      case PfsyncMessage.Ins ins -> importState(ins.state(), now);
      case PfsyncMessage.Upd upd -> {
        if (bulkState == BulkState.RECEIVING) {
          counters.bulkStatesReceived.incrementAndGet();
          bulkReceivedThisRun++;
          lastBulkActivity = now;
        }
        importState(upd.state(), now);
      }
      case PfsyncMessage.UpdC u -> updateCompressed(u, now);
      case PfsyncMessage.UpdReq r -> {
        if (r.id() == 0 && r.creatorid() == 0) {
          if (requestNonce != 0) {
            answering.remove(requestNonce);
            if (answering.size() >= SyncEnvelope.MAX_ECHOES) answering.remove(answering.getFirst());
            answering.add(requestNonce);
          }
          serveBulk(now);
        } else {
          Tracked t = byId.get(new GlobalId(r.id(), r.creatorid()));
          if (t != null) queue(t.id, Pending.UPD, now);
        }
      }
      case PfsyncMessage.DelC del -> deleteById(new GlobalId(del.id(), del.creatorid()));
      case PfsyncMessage.Del del ->
          deleteById(new GlobalId(del.state().id(), del.state().creatorid()));
      case PfsyncMessage.Clr clr -> clear(clr.creatorid());
      case PfsyncMessage.Bus bus -> bulkStatus(bus, now);
      case PfsyncMessage.InsAck ack -> {
        /* no deferral here (protocols.md §5.10): nothing waits for acks */
      }
      case PfsyncMessage.Tdb tdb ->
          counters.stateRejected("tdb_ignored"); // IPsec SA counters: no IPsec here
    }
  }

  private void importState(PfsyncState s, long now) {
    counters.statesReceived.incrementAndGet();
    StateMapper.Import imp = StateMapper.toEntry(s);
    if (!imp.ok()) {
      counters.stateRejected(imp.refusal().name().toLowerCase(Locale.ROOT));
      return;
    }
    ConntrackEntry incoming = imp.entry();
    GlobalId gid = new GlobalId(s.id(), s.creatorid());
    Tracked t = byId.get(gid);
    if (t == null) t = byKey.get(incoming.key());
    if (t == null) {
      if (!write("create", incoming)) return;
      t = track(gid, incoming);
    } else {
      ConntrackEntry current = t.entry;
      if (!current.reply().equals(incoming.reply())) {
        // NAT differs and the kernel cannot change NAT on an entry: replace it (e.g. a BSD peer's
        // outbound state
        // with nat-to arriving after its inbound state).
        kernelDelete(current);
        if (!write("create", incoming)) {
          untrack(t);
          return;
        }
        t.entry = incoming;
      } else {
        ConntrackEntry merged =
            merge(
                current, incoming.status(), incoming.timeoutSeconds(), incoming.tcpState(), t, now);
        if (merged == null) return;
        if (!write("update", merged)) return;
        t.entry = merged;
      }
      if (byId.putIfAbsent(gid, t) == null)
        t.ids.add(gid); // the same connection under another id (a BSD peer's second state, or both
      // created it)
    }
    t.peerExpiry = now + t.entry.timeoutSeconds() * NANOS;
    counters.statesApplied.incrementAndGet();
  }

  private void updateCompressed(PfsyncMessage.UpdC u, long now) {
    counters.statesReceived.incrementAndGet();
    Tracked t = byId.get(new GlobalId(u.id(), u.creatorid()));
    if (t == null) {
      counters.updatesRequested.incrementAndGet();
      control(new PfsyncMessage.UpdReq(u.id(), u.creatorid()), now);
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
    if (!write("update", merged)) return;
    t.entry = merged;
    t.peerExpiry = now + merged.timeoutSeconds() * NANOS;
    counters.statesApplied.incrementAndGet();
  }

  /**
   * The entry after a peer's update, or null when the update is stale: a TCP state behind ours
   * means the peer has not seen what we saw (pfsync's stale rule, §5.8, on the only TCP information
   * Linux has), so we re-announce ours.
   */
  private ConntrackEntry merge(
      ConntrackEntry current, int status, long timeout, int tcpState, Tracked t, long now) {
    if (current.isTcp() && tcpProgress(tcpState) < tcpProgress(current.tcpState())) {
      counters.staleUpdates.incrementAndGet();
      queue(t.id, Pending.UPD_C, now);
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

  private void deleteById(GlobalId gid) {
    counters.statesReceived.incrementAndGet();
    Tracked t = byId.get(gid);
    if (t == null) return;
    untrack(t);
    kernelDelete(t.entry);
    counters.statesApplied.incrementAndGet();
  }

  /**
   * CLR: every state of that creator goes (OpenBSD may limit it to one interface; our states
   * float). Only the creator clears its own states, so a CLR naming ours is not from a peer (a
   * forger on an unauthenticated link, or a peer given our hostid): obeying it would wipe the
   * connections this node carries.
   */
  private void clear(int creator) {
    if (creator == settings.hostId()) {
      counters.stateRejected("clr_own_creator");
      return;
    }
    for (Tracked t : List.copyOf(byKey.values())) {
      if (t.id.creator() != creator) continue;
      untrack(t);
      kernelDelete(t.entry);
    }
  }

  // ---------------------------------------------------------------- bulk update

  private void serveBulk(long now) {
    if (!bulkOut.isEmpty()) {
      extendBulk();
      return;
    }
    try {
      refresh(kernel.dump(), now); // send what the kernel has now, not what we last heard
    } catch (ConntrackException e) {
      observer.kernelWriteFailed("dump", null, e);
    }
    bulkOut.clear();
    bulkOut.add(new PfsyncMessage.Bus(settings.hostId(), 0, PfsyncMessage.Bus.START));
    for (Tracked t : byKey.values()) bulkOut.add(new PfsyncMessage.Upd(stateOf(t)));
    bulkOut.add(new PfsyncMessage.Bus(settings.hostId(), 0, PfsyncMessage.Bus.END));
    nextBulkPacketAt = now;
    counters.bulksServed.incrementAndGet();
    counters.bulkStatesSent.addAndGet(byKey.size());
    observer.bulkServed(byKey.size());
  }

  /**
   * A request while a bulk is under way (the requester's retry, or another peer): as OpenBSD's
   * pfsync_bulk_start, go on from where the bulk is and wrap around to the states already sent,
   * behind a new BUS START, instead of dumping the table and starting over. At 250 000 states the
   * dump alone outlasts the requester's 2 s retry, and each retry restarted the bulk (./carp bench
   * sync: 305 454 states sent for 250 000).
   */
  private void extendBulk() {
    if (bulkOut.peekFirst() instanceof PfsyncMessage.Bus first
        && first.status() == PfsyncMessage.Bus.START) return; // nothing sent yet
    Set<GlobalId> queued = new HashSet<>();
    for (PfsyncMessage m : bulkOut) {
      if (m instanceof PfsyncMessage.Upd u)
        queued.add(new GlobalId(u.state().id(), u.state().creatorid()));
    }
    PfsyncMessage end = bulkOut.pollLast();
    bulkOut.addFirst(new PfsyncMessage.Bus(settings.hostId(), 0, PfsyncMessage.Bus.START));
    for (Tracked t : byKey.values())
      if (!queued.contains(t.id)) bulkOut.add(new PfsyncMessage.Upd(stateOf(t)));
    bulkOut.add(end);
  }

  private void bulkStatus(PfsyncMessage.Bus bus, long now) {
    if (bus.creatorid() == settings.hostId()) return; // our own, looped back
    if (bus.status() == PfsyncMessage.Bus.START && bulkState == BulkState.REQUESTING) {
      bulkPeer = bus.creatorid();
      lastBulkActivity = now;
      bulkReceivedThisRun = 0;
      setBulkState(
          BulkState.RECEIVING,
          "peer " + Integer.toUnsignedString(bus.creatorid(), 16) + " started sending its states");
    } else if (bus.status() == PfsyncMessage.Bus.END
        && bulkState.pending()
        && (bulkState == BulkState.REQUESTING || bus.creatorid() == bulkPeer)) {
      setBulkState(
          BulkState.DONE,
          bulkReceivedThisRun + " states in " + (now - bulkStartedAt) / 1_000_000 + " ms");
    }
  }

  private void setBulkState(BulkState to, String detail) {
    BulkState from = bulkState;
    bulkState = to;
    observer.bulkStateChanged(from, to, detail);
  }

  // ---------------------------------------------------------------- sending

  /**
   * The packets (pfsync bytes) due now: queued changes whose delay is up or that fill a packet, and
   * bulk packets.
   */
  public List<byte[]> poll(long now) {
    List<byte[]> out = new ArrayList<>();
    for (Outgoing o : pollPackets(now)) out.add(o.pfsync());
    return out;
  }

  /** As {@link #poll}, with the bulk nonces the envelope carries. */
  public List<Outgoing> pollPackets(long now) {
    List<Outgoing> out = new ArrayList<>();
    if (bulkState == BulkState.REQUESTING) {
      if (now - bulkStartedAt >= settings.bulkTimeoutNanos()) {
        setBulkState(
            BulkState.TIMED_OUT,
            "no peer answered within " + settings.bulkTimeoutNanos() / NANOS + " s");
      } else if (now - lastBulkActivity >= settings.bulkRetryNanos()) {
        lastBulkActivity = now;
        control(PfsyncMessage.UpdReq.BULK, now);
      }
    } else if (bulkState == BulkState.RECEIVING
        && now - lastBulkActivity >= settings.bulkTimeoutNanos()) {
      setBulkState(
          BulkState.TIMED_OUT, "the peer's bulk stalled after " + bulkReceivedThisRun + " states");
    }
    // A burst is sent once several packets' worth is queued, so that only the last of them goes out
    // part-filled.
    boolean due =
        oldestPendingAt != Long.MIN_VALUE
            && (now - oldestPendingAt >= settings.maxDelayNanos()
                || pendingBytes >= (long) FULL_PACKETS * settings.packetBudget());
    if (due) {
      List<byte[]> flushed = flush(now);
      long request = bulkState.pending() ? bulkNonce : 0;
      for (byte[] p : flushed) out.add(new Outgoing(p, request, new long[0]));
    }
    // Every bulk packet whose slot has come, one per bulkInterval: the pace no longer depends on
    // how often the
    // runtime polls (a 1 ms loop turn took ~1.5 ms, capping a bulk at ~3 750 states/s). A poll that
    // comes late sends
    // at most MAX_BULK_PACKETS_PER_POLL, so that a stalled loop does not dump a burst into the
    // peer's capture ring.
    nextBulkPacketAt =
        Math.max(nextBulkPacketAt, now - MAX_BULK_PACKETS_PER_POLL * settings.bulkIntervalNanos());
    while (!bulkOut.isEmpty() && now >= nextBulkPacketAt) {
      PfsyncPacketBuilder b = new PfsyncPacketBuilder(settings.packetBudget());
      // BUS START goes alone: a packet groups messages by action, and START must reach the peer
      // before the states.
      while (!bulkOut.isEmpty() && b.add(bulkOut.peek())) {
        if (bulkOut.poll() instanceof PfsyncMessage.Bus bus
            && bus.status() == PfsyncMessage.Bus.START) break;
      }
      out.add(
          new Outgoing(
              b.build(),
              bulkState.pending() ? bulkNonce : 0,
              answering.stream().mapToLong(Long::longValue).toArray()));
      nextBulkPacketAt += Math.max(1, settings.bulkIntervalNanos());
    }
    if (bulkOut.isEmpty()) answering.clear(); // the BUS END went out with them
    counters.packetsSent.addAndGet(out.size());
    return out;
  }

  /** True while a bulk send is still under way (the runtime then polls at the bulk pace). */
  public boolean bulkSending() {
    return !bulkOut.isEmpty();
  }

  private List<byte[]> flush(long now) {
    List<PfsyncMessage> messages = new ArrayList<>(pendingControl);
    pendingControl.clear();
    pending.forEach(
        (gid, kind) -> {
          Tracked t = byId.get(gid);
          switch (kind) {
            case DEL_C -> messages.add(new PfsyncMessage.DelC(gid.id(), gid.creator()));
            case INS, UPD, UPD_C -> {
              if (t == null)
                return; // untracked since: its DEL_C replaced this, or it was never announced
              PfsyncState s = stateOf(t);
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
              t.peerExpiry = now + t.entry.timeoutSeconds() * NANOS;
              t.lastAnnounced = now;
            }
          }
          counters.statesSent.incrementAndGet();
        });
    pending.clear();
    pendingBytes = 0;
    oldestPendingAt = Long.MIN_VALUE;
    return messages.isEmpty() ? List.of() : PfsyncEncoder.pack(messages, settings.packetBudget());
  }

  private void queue(GlobalId id, Pending kind, long now) {
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

  private void queueDelete(Tracked t, long now) {
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

  private void control(PfsyncMessage m, long now) {
    pendingControl.add(m);
    pendingBytes += PfsyncEncoder.encodeMessage(m).length;
    markPending(now);
    if (m.equals(PfsyncMessage.UpdReq.BULK))
      oldestPendingAt = now - settings.maxDelayNanos(); // nothing to batch it with
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

  private PfsyncState stateOf(Tracked t) {
    return StateMapper.toState(t.entry, t.id.id(), t.id.creator());
  }

  // ---------------------------------------------------------------- table and kernel

  private Tracked track(GlobalId id, ConntrackEntry e) {
    Tracked t = new Tracked(id, e);
    byKey.put(e.key(), t);
    byId.put(id, t);
    return t;
  }

  private void untrack(Tracked t) {
    byKey.remove(t.entry.key(), t);
    for (GlobalId id : t.ids) byId.remove(id, t);
  }

  private boolean write(String what, ConntrackEntry e) {
    try {
      kernel.apply(e);
      return true;
    } catch (ConntrackException ex) {
      counters.stateRejected("kernel_" + what);
      observer.kernelWriteFailed(what, e, ex);
      return false;
    }
  }

  private void kernelDelete(ConntrackEntry e) {
    try {
      kernel.delete(e);
    } catch (ConntrackException ex) {
      counters.stateRejected("kernel_delete");
      observer.kernelWriteFailed("delete", e, ex);
    }
  }
}
