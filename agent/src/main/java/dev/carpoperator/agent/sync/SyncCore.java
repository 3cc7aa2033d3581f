package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncPacketBuilder;
import dev.carpoperator.agent.sync.ChangeQueue.Pending;
import dev.carpoperator.agent.sync.SyncTable.GlobalId;
import dev.carpoperator.agent.sync.SyncTable.Tracked;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The state-sync protocol, without sockets, threads or kernel: kernel events and received pfsync
 * packets in, pfsync packets and {@link KernelEffect}s (writes to the kernel table) out. A {@link
 * KernelExecutor} carries the actions out and reports their outcomes back ({@link
 * KernelExecutor.Outcomes}), before the next call. Time is passed in (monotonic nanoseconds), so
 * tests drive it with a fake clock. Not thread-safe: the runtime calls it from one thread.
 *
 * <p>What it does, following OpenBSD's pfsync (docs/protocols/pfsync.md §7–9) where Linux allows:
 *
 * <ul>
 *   <li>Local changes: a new entry goes out as INS, a change as UPD_C, a deletion as DEL_C.
 *       Messages wait at most {@code maxDelay} (or until {@link #FULL_PACKETS} packets are full),
 *       and several changes of one state collapse into one message ({@link ChangeQueue}). An
 *       established TCP connection is announced once more, as UPD_C, 2 s after its INS, so that a
 *       peer that missed the INS asks for it ({@link ChangeQueue#INS_FOLLOW_UP_NANOS}).
 *   <li>Received INS/UPD are written into the kernel (BE_LIBERAL, NAT from the reply tuple); UPD_C
 *       updates a known state, or asks for the full state with UPD_REQ when unknown; DEL_C and CLR
 *       delete ({@link StateImport}); UPD_REQ(0,0) starts a bulk send (BUS START, every state as
 *       UPD paced one packet per {@code bulkInterval}, BUS END: {@link BulkSender}); a requester
 *       that reports its progress (BUS PROGRESS, our agents) is sent to as fast as it applies.
 *   <li>At start, it asks for a bulk update and reports {@link BulkState} so the runtime holds CARP
 *       demoted until the table is in (or {@code bulkTimeout} passes without progress: {@link
 *       BulkRequester}).
 *   <li>Linux does not report timer refreshes, so {@link #refresh} (a periodic kernel dump)
 *       re-announces states whose peer copy has less than half of the local remaining lifetime, and
 *       catches missed events.
 *   <li>Deletions of states created elsewhere are only announced when traffic touched them here; an
 *       entry that merely expired on a backup must not delete the master's live state.
 * </ul>
 */
public final class SyncCore implements KernelExecutor.Outcomes {

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

  private static final long[] NO_ECHOES = new long[0];

  /** States this node owns are re-sent at least this often (see {@link LocalChanges}). */
  static final long REANNOUNCE_NANOS = LocalChanges.REANNOUNCE_NANOS;

  /** Queued bytes, in packets, that are sent without waiting for the delay. */
  static final int FULL_PACKETS = ChangeQueue.FULL_PACKETS;

  /**
   * A requester reports its progress to the peer whose bulk it receives every this many bulk
   * packets applied (authenticated mode; see {@link BulkSender#WINDOW_PACKETS}).
   */
  static final int PROGRESS_EVERY = 16;

  /** Bulk packets one poll may catch up with (see {@link BulkSender#poll}). */
  static final int MAX_BULK_PACKETS_PER_POLL = BulkSender.MAX_PACKETS_PER_POLL;

  private final Observer observer;
  private final SyncCounters counters;
  private final SyncTable table = new SyncTable();
  private final ChangeQueue changes;
  private final LocalChanges local;
  private final StateImport imports;
  private final BulkSender bulkSender;

  /** A peer asked for our table in the packet under way: served once the packet is handled. */
  private boolean bulkWanted;

  private final BulkRequester bulk;
  private final ReplayWindow sessions = new ReplayWindow();

  /** A bulk step and its log detail. */
  private record BulkStep(BulkState from, BulkState to, String detail) {}

  /**
   * Bulk steps reached in the packet under way, told once its writes are carried out ({@link
   * #executed}): the runtime releases CARP on DONE, and only once the states are in the kernel.
   */
  private final List<BulkStep> stepsAfterWrites = new ArrayList<>();

  private boolean inPacket;

  private final int hostId;

  /** The session whose bulk we are receiving, and how many of its bulk packets we applied. */
  private SyncEnvelope.Session bulkSession;

  private long bulkPacketsApplied;

  public SyncCore(Settings settings, Observer observer, SyncCounters counters) {
    this(settings, observer, counters, new SecureRandom()::nextLong);
  }

  /**
   * @param nonces random numbers for the bulk request challenges (tests pass a predictable source)
   */
  public SyncCore(
      Settings settings, Observer observer, SyncCounters counters, LongSupplier nonces) {
    Objects.requireNonNull(settings);
    this.hostId = settings.hostId();
    this.observer = observer == null ? new Observer() {} : observer;
    this.counters = counters == null ? new SyncCounters() : counters;
    this.changes =
        new ChangeQueue(table, this.counters, settings.packetBudget(), settings.maxDelayNanos());
    this.local = new LocalChanges(settings.hostId(), settings.idBase(), table, changes);
    this.imports = new StateImport(settings.hostId(), table, changes, this.counters);
    this.bulkSender =
        new BulkSender(
            settings.hostId(), settings.packetBudget(), settings.bulkIntervalNanos(), table);
    this.bulk =
        new BulkRequester(
            settings.hostId(),
            settings.bulkRetryNanos(),
            settings.bulkTimeoutNanos(),
            Objects.requireNonNull(nonces),
            new Observer() {
              @Override
              public void bulkStateChanged(BulkState from, BulkState to, String detail) {
                bulkStep(from, to, detail);
              }
            },
            this.counters);
  }

  public SyncCounters counters() {
    return counters;
  }

  public BulkState bulkState() {
    return bulk.state();
  }

  /** States in the table (local and from peers). */
  public int tableSize() {
    return table.size();
  }

  /** States received in the current (or last) bulk update. */
  public long bulkReceived() {
    return bulk.received();
  }

  /**
   * Takes the kernel's current table as ours (ids assigned, nothing announced: peers hear about
   * these states when they change, when {@link #refresh} finds them active, or when they ask by
   * bulk), then asks the peers for their table if {@code requestBulk}.
   */
  public void start(long now, List<ConntrackEntry> kernelTable, boolean requestBulk) {
    local.adopt(kernelTable, now);
    if (requestBulk) requestBulk(now, "asking peers for their states");
  }

  /**
   * Asks the peers for their whole table (again), as at start: e.g. when the sync link comes back,
   * since the states created while it was down never reached us. The runtime holds CARP demoted
   * while it is pending.
   */
  public void requestBulk(long now, String why) {
    tellBulkSteps();
    bulk.request(now, why);
    changes.control(PfsyncMessage.UpdReq.BULK, now);
  }

  // ---------------------------------------------------------------- local kernel changes

  /**
   * A change the kernel reported (never one we wrote ourselves: the kernel binding filters those).
   */
  public void kernelEvent(ConntrackKernel.EventType type, ConntrackEntry e, long now) {
    local.event(type, e, now);
  }

  /**
   * Reconciles with a full dump of the kernel table: announces states whose timer the kernel
   * refreshed (traffic here) once the peers' copy has less than half of the local lifetime left,
   * picks up entries whose events were lost (netlink overrun), forgets entries that vanished, and
   * re-sends the states this node owns every {@link #REANNOUNCE_NANOS} (repairing lost packets).
   */
  public void refresh(List<ConntrackEntry> dump, long now) {
    local.refresh(dump, now);
  }

  /**
   * The dump for the next {@link #refresh} is being read elsewhere while this core goes on: the
   * changes made meanwhile are newer than the dump for their connections, and {@link #refresh}
   * keeps them rather than the dump's view (nor takes a connection created meanwhile, and absent
   * from the dump, for one that vanished).
   */
  public void dumpStarting() {
    local.dumpStarting();
  }

  /** Between {@link #dumpStarting} and the {@link #refresh} or {@link #dumpAbandoned} after it. */
  public boolean dumpUnderWay() {
    return local.dumpUnderWay();
  }

  /** The dump announced by {@link #dumpStarting} failed; no refresh follows. */
  public void dumpAbandoned() {
    local.dumpAbandoned();
  }

  // ---------------------------------------------------------------- received packets

  /**
   * Handles one pfsync packet of the unauthenticated (bsd-compatible) mode. Never throws on hostile
   * bytes.
   *
   * @return the kernel writes the packet needs, in order, for a {@link KernelExecutor}
   */
  public List<KernelEffect> receive(byte[] packet, int offset, int length, long now) {
    return receive(packet, offset, length, now, true, true, 0);
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
   *
   * @return the kernel writes the packet needs, in order, for a {@link KernelExecutor}
   */
  public List<KernelEffect> receiveSealed(SyncEnvelope.Opened opened, long now) {
    if (!sessions.accept(opened.session(), opened.counter())) {
      counters.packetRejected("replay");
      observer.packetRejected(
          "replay",
          "replayed sync packet of session "
              + opened.session()
              + " (counter "
              + opened.counter()
              + " already seen)");
      return List.of();
    }
    boolean answersUs = bulk.answeredBy(opened);
    if (answersUs) sessions.anchor(opened.session(), opened.counter());
    boolean statesTrusted = !bulk.pending() || sessions.anchored(opened.session());
    boolean wasReceiving = bulk.state() == BulkState.RECEIVING;
    byte[] p = opened.pfsync();
    List<KernelEffect> writes =
        receive(p, 0, p.length, now, answersUs, statesTrusted, opened.requestNonce());
    if (answersUs && bulk.state() == BulkState.RECEIVING) reportProgress(opened, wasReceiving, now);
    return writes;
  }

  /**
   * Counts a packet of the bulk we are receiving and, every {@link #PROGRESS_EVERY}, tells its
   * sender how many we have applied. The report goes out after this packet's writes (the runtime
   * sends once they are carried out), so the count is of states in the kernel, not in a queue.
   */
  private void reportProgress(SyncEnvelope.Opened opened, boolean wasReceiving, long now) {
    if (!wasReceiving) { // this packet carried the BUS START: the bulk comes from its session
      bulkSession = opened.session();
      bulkPacketsApplied = 0;
    }
    if (!opened.session().equals(bulkSession)) return; // another peer answering the same request
    if (++bulkPacketsApplied % PROGRESS_EVERY == 0)
      changes.control(
          new PfsyncMessage.Bus(bulk.peer(), (int) bulkPacketsApplied, PfsyncMessage.Bus.PROGRESS),
          now);
  }

  private List<KernelEffect> receive(
      byte[] packet,
      int offset,
      int length,
      long now,
      boolean busTrusted,
      boolean statesTrusted,
      long requestNonce) {
    tellBulkSteps(); // of an earlier packet whose writes were not reported
    imports.newCall();
    PfsyncDecodeResult result = PfsyncDecoder.decode(packet, offset, length);
    if (result instanceof PfsyncDecodeResult.Rejected r) {
      String reason = r.reason().name().toLowerCase(Locale.ROOT);
      counters.packetRejected(reason);
      observer.packetRejected(reason, r.detail());
      return List.of();
    }
    counters.packetsReceived.incrementAndGet();
    PfsyncDecodeResult.Decoded d = (PfsyncDecodeResult.Decoded) result;
    if (d.skippedMessages() > 0) {
      d.skippedSections()
          .forEach(
              (reason, n) ->
                  counters.stateRejected("skipped_" + reason.name().toLowerCase(Locale.ROOT)));
    }
    List<KernelEffect> out = new ArrayList<>();
    inPacket = true;
    try {
      // Sections come grouped by action, so a BUS END may precede the states it closes: take it
      // last.
      for (PfsyncMessage m : d.messages())
        if (!isBusEnd(m)) handle(m, now, busTrusted, statesTrusted, requestNonce, out);
      for (PfsyncMessage m : d.messages())
        if (isBusEnd(m)) handle(m, now, busTrusted, statesTrusted, requestNonce, out);
    } finally {
      inPacket = false;
    }
    if (bulkWanted) { // last, so that the bulk has the states of this packet
      bulkWanted = false;
      serveBulk(now);
    }
    if (out.isEmpty()) tellBulkSteps();
    return out;
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
      PfsyncMessage m,
      long now,
      boolean busTrusted,
      boolean statesTrusted,
      long requestNonce,
      List<KernelEffect> out) {
    if (!statesTrusted && carriesState(m)) {
      counters.stateRejected("unanchored");
      return;
    }
    if (m instanceof PfsyncMessage.Bus bus && bus.status() == PfsyncMessage.Bus.PROGRESS) {
      // a requester's progress through our bulk (a report for another peer's bulk: not ours)
      if (bus.creatorid() == hostId)
        bulkSender.progress(requestNonce, Integer.toUnsignedLong(bus.endtime()), now);
      return;
    }
    if (m instanceof PfsyncMessage.Bus && !busTrusted) {
      // Not an answer to our current request: a bulk for another requester, or a recorded one.
      if (bulk.pending()) counters.stateRejected("bus_not_for_us");
      return;
    }
    switch (m) {
      case PfsyncMessage.Ins ins -> imports.importState(ins.state(), now, out);
      case PfsyncMessage.Upd upd -> {
        bulk.stateReceived(now);
        imports.importState(upd.state(), now, out);
      }
      case PfsyncMessage.UpdC u -> imports.updateCompressed(u, now, out);
      case PfsyncMessage.UpdReq r -> {
        if (r.id() == 0 && r.creatorid() == 0) {
          bulkSender.answer(requestNonce);
          if (bulkSender.sending()) bulkSender.extend(table.all());
          else bulkWanted = true;
        } else {
          Tracked t = table.byId(new GlobalId(r.id(), r.creatorid()));
          if (t != null) changes.queue(t.id, Pending.UPD, now);
        }
      }
      case PfsyncMessage.DelC del ->
          imports.deleteById(new GlobalId(del.id(), del.creatorid()), out);
      case PfsyncMessage.Del del ->
          imports.deleteById(new GlobalId(del.state().id(), del.state().creatorid()), out);
      case PfsyncMessage.Clr clr -> imports.clear(clr.creatorid(), out);
      case PfsyncMessage.Bus bus -> bulk.bus(bus, now);
      case PfsyncMessage.InsAck ack -> {
        /* no deferral here (docs/protocols/pfsync.md §10): nothing waits for acks */
      }
      case PfsyncMessage.Tdb tdb ->
          counters.stateRejected("tdb_ignored"); // IPsec SA counters: no IPsec here
    }
  }

  // ---------------------------------------------------------------- kernel outcomes

  @Override
  public void executed() {
    tellBulkSteps();
  }

  private void bulkStep(BulkState from, BulkState to, String detail) {
    if (inPacket) stepsAfterWrites.add(new BulkStep(from, to, detail));
    else observer.bulkStateChanged(from, to, detail);
  }

  private void tellBulkSteps() {
    if (stepsAfterWrites.isEmpty()) return;
    List<BulkStep> steps = List.copyOf(stepsAfterWrites);
    stepsAfterWrites.clear();
    for (BulkStep b : steps) observer.bulkStateChanged(b.from(), b.to(), b.detail());
  }

  @Override
  public void written(KernelEffect.Write write) {
    imports.written(write);
  }

  @Override
  public void writeFailed(KernelEffect.Write write, ConntrackException e) {
    imports.failed(write);
    observer.kernelWriteFailed(write.what(), write.entry(), e);
  }

  /**
   * Sends a peer that asked for it our table as we know it: the kernel's events keep it current,
   * and the periodic {@link #refresh} brings in timer refreshes and lost events. Dumping the kernel
   * first made a requester wait for the dump (about 2.5 s at 250 000 states, ./carp bench sync)
   * before the first state left.
   */
  private void serveBulk(long now) {
    bulkSender.start(table.all(), now);
    counters.bulksServed.incrementAndGet();
    counters.bulkStatesSent.addAndGet(table.size());
    observer.bulkServed(table.size());
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
    tellBulkSteps();
    List<Outgoing> out = new ArrayList<>();
    if (bulk.retryDue(now)) changes.control(PfsyncMessage.UpdReq.BULK, now);
    changes.followUps(now);
    if (changes.due(now)) {
      List<byte[]> flushed = changes.flush(now);
      long request = bulk.pendingNonce();
      for (byte[] p : flushed) out.add(new Outgoing(p, request, NO_ECHOES));
    }
    bulkSender.poll(now, bulk.pendingNonce(), out);
    counters.packetsSent.addAndGet(out.size());
    return out;
  }

  /**
   * True when a burst of full packets ({@code FULL_PACKETS}) of changes is queued: the runtime
   * sends it even while more inputs wait, so that a loaded node's changes leave as they fill
   * packets rather than all at its next tick.
   */
  public boolean changesFull() {
    return changes.full();
  }

  /** True while a bulk send is still under way (the runtime then polls at the bulk pace). */
  public boolean bulkSending() {
    return bulkSender.sending();
  }

  /**
   * True while a bulk goes out or comes in. The periodic {@link #refresh} then waits: its dump of
   * the kernel table holds up the loop (over a second at 250 000 states, ./carp bench sync), and
   * what it catches (timer refreshes, lost events) can wait for the bulk to end.
   */
  public boolean refreshWaits() {
    return bulkSender.sending() || bulk.state() == BulkState.RECEIVING;
  }
}
