package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.engine.plumbing.LoopGuard;
import dev.carpoperator.agent.engine.plumbing.RateLimitedWarnings;
import dev.carpoperator.agent.engine.plumbing.UnicastPeers;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.Carrier;
import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.agent.net.MulticastMembership;
import dev.carpoperator.agent.net.NeighbourTable;
import dev.carpoperator.agent.net.SystemNicLookup;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.sync.BulkState;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.agent.sync.SyncCore;
import dev.carpoperator.agent.sync.SyncCounters;
import dev.carpoperator.agent.sync.SyncEnvelope;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the state sync on a real interface: the pure {@link SyncCore} on one thread, fed by the
 * kernel's conntrack events, by pfsync packets from the sync interface (IP protocol 240, TTL 255,
 * to 224.0.0.240 or unicast peers) and by timers; what the core sends goes out through {@link
 * FrameIo}, sealed by {@link SyncEnvelope} unless the mode is bsd-compatible. While the start-up
 * bulk update is pending, CARP is demoted by {@link #BULK_DEMOTION} (OpenBSD's "pfsync bulk start"
 * weight) through {@code demotion}, so this node does not become master with an empty table.
 */
public final class SyncEngine implements AutoCloseable {
  /** OpenBSD demotes carp by 32 for the whole bulk update (protocols.md §5.9). */
  public static final int BULK_DEMOTION = 32;

  static final Inet4Address GROUP = (Inet4Address) literal(Pfsync.GROUP_V4);
  static final long TICK_MILLIS = 10;

  /**
   * One full bulk packet (about 5 states) per 250 µs, ~20 000 states/s: below what a receiver
   * writes to its kernel table (~55 000 creates/s on one netlink socket) so that its capture ring
   * does not fill during a long bulk.
   */
  static final long BULK_INTERVAL_NANOS = 250_000L;

  static final long REFRESH_SECONDS = 10;

  /**
   * OpenBSD's pfsync demotes carp by 1 while its sync interface is down ("pfsync link state down")
   * and asks for a bulk update when it is back: a node that was cut off must not preempt with a
   * table that lacks what was created meanwhile. 1 is enough: a demoted node never preempts a less
   * demoted master.
   */
  public static final int LINK_DOWN_DEMOTION = 1;

  static final long LINK_POLL_MILLIS = 200;

  /**
   * Conntrack events and received sync packets that may wait for the loop ({@link SyncInbox}):
   * about a second of the loop's work at its measured ~45 µs per state, at most some 10 MiB of
   * events or 25 MiB of packets. Beyond it they are dropped and counted, and the table is
   * resynchronised from a dump once the loop has caught up. The system property {@value
   * #QUEUE_LIMIT_PROPERTY} changes it.
   */
  public static final int DEFAULT_QUEUE_LIMIT = 16_384;

  public static final String QUEUE_LIMIT_PROPERTY = "carp.sync.queueLimit";

  /**
   * At most one resync (full dump) a second after overloads; a dump of a big table takes about that
   * long.
   */
  static final long RESYNC_SPACING_NANOS = 1_000_000_000L;

  private static final Logger LOG = LoggerFactory.getLogger(SyncEngine.class);
  private static final long WARN_EVERY_NANOS = 10_000_000_000L;

  /**
   * @param interfaceName the sync interface
   * @param peers unicast peers; empty = multicast
   * @param key shared secret, or null for bsd-compatible (unauthenticated) mode
   * @param encrypt encrypt the states as well (needs a key)
   * @param hostId creatorid
   * @param maxDelayMillis batching delay
   * @param bulkTimeoutSeconds give up waiting for the peers' table after this long without progress
   */
  public record Settings(
      String interfaceName,
      List<Inet4Address> peers,
      byte[] key,
      boolean encrypt,
      int hostId,
      int maxDelayMillis,
      int bulkTimeoutSeconds) {}

  private final Settings settings;
  private final ConntrackKernel kernel;
  private final FrameIo io;
  private final IntConsumer demotion;
  private final LongSupplier clock;
  private final SyncCounters counters = new SyncCounters();
  private final SyncCore core;
  private final ScheduledExecutorService loop;
  private final SyncInbox inbox;
  private final SyncEnvelope sealer; // loop thread only
  private final SyncEnvelope opener; // receive thread only
  private final UnicastPeers unicast = new UnicastPeers(new NeighbourTable()::lookup);
  private final MacAddress mac;
  private final int mtu;
  private final RateLimitedWarnings warnings;
  private volatile BulkState bulkState = BulkState.IDLE;
  private volatile int tableSize; // for the metrics scrape; written by the loop thread
  private final List<Consumer<BulkState>> bulkListeners = new CopyOnWriteArrayList<>();
  private MulticastMembership membership;
  private volatile boolean closed;
  private boolean syncLinkDown; // loop thread

  public SyncEngine(
      Settings settings,
      ConntrackKernel kernel,
      Function<String, FrameIo> frameIoFactory,
      IntConsumer demotion)
      throws IOException {
    this.settings = settings;
    this.kernel = kernel;
    this.demotion = demotion;
    this.clock = System::nanoTime;
    this.warnings = new RateLimitedWarnings(WARN_EVERY_NANOS, clock);
    NetworkInterface nic = NetworkInterface.getByName(settings.interfaceName());
    if (nic == null)
      throw new IOException("sync interface " + settings.interfaceName() + " does not exist");
    this.mac = MacAddress.of(nic.getHardwareAddress());
    this.mtu = nic.getMTU() > 0 ? nic.getMTU() : 1500;
    this.sealer =
        settings.key() == null ? null : new SyncEnvelope(settings.key(), settings.encrypt());
    this.opener =
        settings.key() == null ? null : new SyncEnvelope(settings.key(), settings.encrypt());
    int budget = Pfsync.payloadBudget(mtu) - (sealer == null ? 0 : SyncEnvelope.TRAILER_LENGTH);
    long idBase = (System.currentTimeMillis() / 1000) << 32; // OpenBSD: boot time << 32
    var coreSettings =
        new SyncCore.Settings(
            settings.hostId(),
            idBase,
            budget,
            settings.maxDelayMillis() * 1_000_000L,
            BULK_INTERVAL_NANOS,
            2_000_000_000L,
            settings.bulkTimeoutSeconds() * 1_000_000_000L);
    this.core = new SyncCore(coreSettings, kernel, new CoreObserver(), counters);
    this.loop =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "sync-loop");
              t.setDaemon(true);
              return t;
            });
    this.inbox =
        new SyncInbox(
            Integer.getInteger(QUEUE_LIMIT_PROPERTY, DEFAULT_QUEUE_LIMIT),
            RESYNC_SPACING_NANOS,
            loop);
    this.io = frameIoFactory.apply(settings.interfaceName());
  }

  /** A random non-zero hostid, as OpenBSD draws one at boot. */
  public static int randomHostId() {
    int id;
    do id = ThreadLocalRandom.current().nextInt();
    while (id == 0);
    return id;
  }

  public SyncCounters counters() {
    return counters;
  }

  public BulkState bulkState() {
    return bulkState;
  }

  /**
   * Called (on the sync thread) whenever the start-up bulk state changes; e.g. the Kubernetes
   * status reporter.
   */
  public void addBulkListener(Consumer<BulkState> listener) {
    bulkListeners.add(listener);
    listener.accept(bulkState);
  }

  /**
   * Starts following the kernel, asks the peers for their table (holding CARP demoted meanwhile)
   * and serves theirs.
   */
  public void start() throws IOException {
    if (settings.peers().isEmpty())
      membership = MulticastMembership.joinV4(settings.interfaceName(), GROUP);
    demotion.accept(BULK_DEMOTION); // before anything can make us master
    // Listen before dumping: a connection opened in between then shows up twice, which is harmless,
    // not never.
    kernel.listen(
        new ConntrackKernel.Listener() {
          @Override
          public void event(ConntrackKernel.EventType type, ConntrackEntry entry) {
            offer(
                SyncInbox.Input.CONNTRACK_EVENT,
                () -> {
                  core.kernelEvent(type, entry, clock.getAsLong());
                  sendDue(); // full packets, and everything when maxDelayMillis is 0, go now rather
                  // than at the next tick
                });
          }

          @Override
          public void overrun() {
            // one dump once the loop has caught up, not one per overrun: a flood overruns again and
            // again
            warn(
                "overrun",
                "conntrack events were lost (netlink buffer overrun); resynchronising from a full dump");
            inbox.wantResync();
          }
        });
    List<ConntrackEntry> table;
    try {
      table = kernel.dump();
    } catch (ConntrackException e) {
      throw new IOException("cannot read the conntrack table: " + e.getMessage(), e);
    }
    submit(() -> core.start(clock.getAsLong(), table, true));
    io.start(this::onFrame);
    loop.schedule(this::tick, TICK_MILLIS, TimeUnit.MILLISECONDS);
    loop.scheduleWithFixedDelay(this::refresh, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
    loop.scheduleWithFixedDelay(
        this::pollLink, LINK_POLL_MILLIS, LINK_POLL_MILLIS, TimeUnit.MILLISECONDS);
    LOG.info(
        "state sync started",
        kv("event", "sync-start"),
        kv("interface", settings.interfaceName()),
        kv(
            "mode",
            sealer == null ? "bsd-compatible" : sealer.encrypts() ? "encrypted" : "authenticated"),
        kv(
            "peers",
            settings.peers().isEmpty() ? GROUP.getHostAddress() : settings.peers().toString()),
        kv("hostid", Integer.toHexString(settings.hostId())),
        kv("states", table.size()),
        kv("mtu", mtu));
  }

  /**
   * Registers the sync metrics (states sent, received, applied, rejected; bulk progress) in {@code
   * registry}.
   */
  public void registerMetrics(PrometheusRegistry registry) {
    CounterWithCallback.builder()
        .name("carp_sync_states_sent")
        .help("State messages sent (INS, UPD, UPD_C, DEL_C)")
        .callback(cb -> cb.call(counters.statesSent.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_states_received")
        .help("State messages received")
        .callback(cb -> cb.call(counters.statesReceived.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_states_applied")
        .help("Received states written to the kernel's conntrack table")
        .callback(cb -> cb.call(counters.statesApplied.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_states_rejected")
        .help("Received states not applied, by reason")
        .labelNames("reason")
        .callback(cb -> counters.statesRejected().forEach((r, n) -> cb.call(n, r)))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_packets_sent")
        .help("Sync packets sent")
        .callback(cb -> cb.call(counters.packetsSent.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_packets_received")
        .help("Sync packets accepted")
        .callback(cb -> cb.call(counters.packetsReceived.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_packets_rejected")
        .help(
            "Sync packets dropped, by reason (bad_tag = wrong key or forged, replay, unauthenticated, freebsd_version, ...)")
        .labelNames("reason")
        .callback(cb -> counters.packetsRejected().forEach((r, n) -> cb.call(n, r)))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_bulk_states_received")
        .help("States received in bulk updates")
        .callback(cb -> cb.call(counters.bulkStatesReceived.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_bulk_states_sent")
        .help("States sent in bulk updates to peers")
        .callback(cb -> cb.call(counters.bulkStatesSent.get()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_bulk_state")
        .help(
            "This node's start-up bulk update: 1 for the current state (idle, requesting, receiving, done, timed_out)")
        .labelNames("state")
        .callback(
            cb -> {
              for (BulkState s : BulkState.values())
                cb.call(s == bulkState ? 1 : 0, s.name().toLowerCase());
            })
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_capture_drops")
        .help(
            "Sync packets the kernel dropped before the agent read them (capture buffer full): lost states")
        .callback(
            cb -> {
              long d = io.captureDrops();
              if (d >= 0) cb.call(d);
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_table_states")
        .help("States the sync tracks (local and from peers)")
        .callback(cb -> cb.call(tableSize))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_queue_dropped")
        .help(
            "Conntrack events and sync packets dropped because the sync loop's queue was full (overload); a resync follows")
        .labelNames("input")
        .callback(
            cb -> {
              for (SyncInbox.Input i : SyncInbox.Input.values())
                cb.call(inbox.dropped(i), i.label());
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_queue_length")
        .help("Conntrack events and sync packets waiting for the sync loop")
        .callback(cb -> cb.call(inbox.pending()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_queue_limit")
        .help("Most conntrack events and sync packets that may wait for the sync loop")
        .callback(cb -> cb.call(inbox.limit()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_event_overruns")
        .help(
            "Times the kernel dropped conntrack events because the agent did not read them fast enough (netlink overrun)")
        .callback(cb -> cb.call(kernel.stats().overruns()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_resyncs")
        .help(
            "Full dumps of the conntrack table after events were lost (netlink overrun or a full queue)")
        .callback(cb -> cb.call(inbox.resyncs()))
        .register(registry);
  }

  // ------------------------------------------------------------------ loop thread

  private void tick() {
    if (closed) return;
    try {
      TICKS.run(
          () -> {
            if (inbox.takeResync(clock.getAsLong()))
              refresh(); // after an overload, once the queue has drained
            sendDue();
            tableSize = core.tableSize();
          });
    } finally {
      if (!closed)
        loop.schedule(this::tick, core.bulkSending() ? 1 : TICK_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  private void sendDue() {
    for (SyncCore.Outgoing o : core.pollPackets(clock.getAsLong())) send(o);
  }

  /**
   * Sync link down: demote; back: ask the peers for their table again (demoted by 32 until it is
   * in).
   */
  private void pollLink() {
    if (closed) return;
    boolean down = !Carrier.isUp(settings.interfaceName());
    if (down == syncLinkDown) return;
    syncLinkDown = down;
    if (down) {
      LOG.warn(
          "sync link down: CARP demoted by {} until it is back and the peers' table is in",
          LINK_DOWN_DEMOTION,
          kv("event", "sync-link"),
          kv("interface", settings.interfaceName()),
          kv("up", false));
      updateDemotion();
    } else {
      LOG.info(
          "sync link up: asking the peers for their table",
          kv("event", "sync-link"),
          kv("interface", settings.interfaceName()),
          kv("up", true));
      core.requestBulk(
          clock.getAsLong(),
          "the sync link is back: asking peers for the states created meanwhile");
      sendDue();
    }
  }

  /**
   * The sync's share of CARP demotion: 32 while a bulk update is pending, 1 while the sync link is
   * down.
   */
  private void updateDemotion() {
    demotion.accept(bulkState.pending() ? BULK_DEMOTION : syncLinkDown ? LINK_DOWN_DEMOTION : 0);
  }

  private void refresh() {
    try {
      core.refresh(kernel.dump(), clock.getAsLong());
    } catch (ConntrackException e) {
      warn("dump", "cannot dump the conntrack table: " + e.getMessage());
    }
  }

  private void send(SyncCore.Outgoing o) {
    Inet4Address src = sourceAddress();
    if (src == null) {
      warn(
          "no-source",
          "the sync interface "
              + settings.interfaceName()
              + " has no IPv4 address; sync packets are not sent");
      return;
    }
    byte[] payload =
        sealer == null
            ? o.pfsync()
            : sealer.seal(o.pfsync(), src.getAddress(), o.requestNonce(), o.echoes());
    int ipId = ThreadLocalRandom.current().nextInt(0x10000);
    try {
      if (settings.peers().isEmpty()) {
        io.send(
            CarpFrames.ipv4(
                mac,
                MacAddress.forMulticast(GROUP),
                src,
                GROUP,
                ipId,
                Pfsync.IPPROTO_PFSYNC,
                payload));
      } else {
        // a shared peer list (FirewallCluster) names this node too: localPeers are skipped
        for (Inet4Address peer :
            unicast.send(
                io,
                settings.interfaceName(),
                settings.peers(),
                localPeers,
                (peerMac, to) ->
                    CarpFrames.ipv4(mac, peerMac, src, to, ipId, Pfsync.IPPROTO_PFSYNC, payload)))
          warn(
              "peer-unresolved",
              "sync peer "
                  + peer.getHostAddress()
                  + " has no ARP entry yet; a packet to it was dropped");
      }
    } catch (RuntimeException e) {
      warn(
          "send",
          "cannot send a sync packet on " + settings.interfaceName() + ": " + e.getMessage());
    }
  }

  /**
   * The sync interface's first IPv4 address, looked up at most once a second (a bulk sends a packet
   * per ms), and which configured peers are this node's own addresses.
   */
  private Inet4Address sourceAddress() {
    long now = clock.getAsLong();
    if (cachedSource == null || now - cachedSourceAt > 1_000_000_000L) {
      try {
        cachedSource = SystemNicLookup.INSTANCE.ipv4Source(settings.interfaceName(), Set.of());
      } catch (SocketException e) {
        cachedSource = null;
      }
      try {
        Set<InetAddress> own = SystemNicLookup.INSTANCE.hostAddresses();
        localPeers = settings.peers().stream().filter(own::contains).collect(Collectors.toSet());
      } catch (SocketException e) {
        localPeers = Set.of();
      }
      cachedSourceAt = now;
    }
    return cachedSource;
  }

  private Inet4Address cachedSource; // loop thread only
  private Set<Inet4Address> localPeers = Set.of(); // peers that are this node's own addresses
  private long cachedSourceAt;

  // ------------------------------------------------------------------ receive thread

  private void onFrame(byte[] frame) {
    if (!(FrameParser.parse(frame) instanceof FrameParser.Packet p)
        || p.protocol() != Pfsync.IPPROTO_PFSYNC) return;
    if (p.srcMac().equals(mac)) return; // our own multicast, looped back by the capture
    String source = p.src().getHostAddress();
    if (p.hopLimit() != CarpFrames.TTL) {
      reject(
          "bad_ttl",
          "sync packet from "
              + source
              + " with TTL "
              + p.hopLimit()
              + " (must be 255: it was routed, so it is not from this link)");
      return;
    }
    if (!settings.peers().isEmpty() && !settings.peers().contains(p.src())) {
      reject(
          "unknown_peer",
          "sync packet from " + source + ", which is not among the configured sync peers");
      return;
    }
    byte[] pfsync;
    int offset;
    int length;
    if (opener == null) {
      pfsync = p.frame();
      offset = p.payloadOffset();
      length = p.payloadLength();
    } else {
      int declared =
          p.payloadLength() >= 4
              ? ((p.frame()[p.payloadOffset() + 2] & 0xff) << 8
                  | (p.frame()[p.payloadOffset() + 3] & 0xff))
              : -1;
      if (declared < Pfsync.HEADER_LENGTH || declared > p.payloadLength()) {
        reject("bad_length", "sync packet from " + source + " with an impossible pfsync length");
        return;
      }
      SyncEnvelope.Opened o =
          opener.open(
              p.frame(), p.payloadOffset(), p.payloadLength(), declared, p.src().getAddress());
      if (!o.ok()) {
        String reason =
            o.failure() == SyncEnvelope.Failure.NO_TRAILER
                ? "unauthenticated"
                : o.failure().name().toLowerCase();
        reject(
            reason,
            switch (o.failure()) {
              case NO_TRAILER ->
                  "unauthenticated sync packet from "
                      + source
                      + " dropped: this node runs authenticated sync; "
                      + "a pfsync peer needs sync mode bsd-compatible on both sides";
              case BAD_TAG ->
                  "sync packet from "
                      + source
                      + " failed authentication: a different key, or forged";
              case ENCRYPTION_MISMATCH ->
                  "sync packet from "
                      + source
                      + " disagrees about encryption: set sync encrypt the same on every node";
              case OLD_VERSION ->
                  "sync packet from "
                      + source
                      + " has the envelope of an older agent (version 1): upgrade every node";
              case STALE ->
                  "sync packet from "
                      + source
                      + " was sent more than "
                      + SyncEnvelope.FRESHNESS_WINDOW_MILLIS / 1000
                      + " s from now: replayed, or the clocks of the nodes disagree (run NTP)";
              default ->
                  "sync packet from " + source + " has no valid envelope (" + o.failure() + ")";
            });
        return;
      }
      offer(
          SyncInbox.Input.SYNC_PACKET,
          () -> {
            core.receiveSealed(
                o, clock.getAsLong()); // replay and bulk-answer checks run with the core
            sendDue();
          });
      return;
    }
    byte[] copy = Arrays.copyOfRange(pfsync, offset, offset + length);
    offer(
        SyncInbox.Input.SYNC_PACKET,
        () -> {
          core.receive(copy, 0, copy.length, clock.getAsLong());
          sendDue(); // a requested bulk starts at once; other answers wait for the batch delay like
          // any change
        });
  }

  private void reject(String reason, String message) {
    counters.packetRejected(reason);
    warn(reason, message);
  }

  // ------------------------------------------------------------------ plumbing

  private void submit(Runnable task) {
    if (!closed) TASKS.post(loop, task); // not once closing
  }

  /**
   * Queues an event or a received packet unless the queue is full: then it is dropped, counted and
   * a resync is due.
   */
  private void offer(SyncInbox.Input input, Runnable task) {
    if (closed) return;
    try {
      if (!inbox.offer(input, guarded(task))) {
        warn(
            "queue_full",
            input == SyncInbox.Input.CONNTRACK_EVENT
                ? "the sync cannot keep up: conntrack events dropped (queue of "
                    + inbox.limit()
                    + " full); the table is resynchronised from a dump once it has caught up"
                : "the sync cannot keep up: received sync packets dropped (queue of "
                    + inbox.limit()
                    + " full); the peers' re-sends repair them");
      }
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  private static Runnable guarded(Runnable task) {
    return TASKS.wrap(task);
  }

  // An Error ends the agent: the executor would swallow it and the sync would stop unnoticed.
  private static final LoopGuard TASKS =
      new LoopGuard(
          "the sync loop",
          e ->
              LOG.error(
                  "sync task failed", kv("event", "sync-error"), kv("error", e.toString()), e));
  private static final LoopGuard TICKS =
      new LoopGuard(
          "the sync loop",
          e ->
              LOG.error(
                  "sync tick failed", kv("event", "sync-error"), kv("error", e.toString()), e));

  /** At most one line per reason per 10 s, saying how many were suppressed. */
  private void warn(String reason, String message) {
    long suppressed = warnings.admit(reason);
    if (suppressed < 0) return;
    LOG.warn(
        message, kv("event", "sync-warning"), kv("reason", reason), kv("suppressed", suppressed));
  }

  private final class CoreObserver implements SyncCore.Observer {
    @Override
    public void bulkStateChanged(BulkState from, BulkState to, String detail) {
      bulkState = to;
      updateDemotion();
      for (var l : bulkListeners) l.accept(to);
      if (to == BulkState.TIMED_OUT) {
        LOG.warn(
            "bulk update gave up: {}",
            detail,
            kv("event", "sync-bulk"),
            kv("from", from.name()),
            kv("to", to.name()));
      } else {
        LOG.info(
            "bulk update {}: {}",
            to.name().toLowerCase(),
            detail,
            kv("event", "sync-bulk"),
            kv("from", from.name()),
            kv("to", to.name()));
      }
    }

    @Override
    public void kernelWriteFailed(String what, ConntrackEntry entry, ConntrackException e) {
      warn(
          "kernel_" + what,
          "cannot "
              + what
              + " conntrack entry "
              + (entry == null ? "" : entry + " ")
              + ": "
              + e.getMessage());
    }

    @Override
    public void packetRejected(String reason, String detail) {
      warn(
          reason,
          reason.equals("freebsd_version")
              ? "pfsync packet of version 5 (FreeBSD) dropped: only OpenBSD's version 6 is understood ("
                  + detail
                  + ")"
              : "sync packet dropped: " + detail);
    }

    @Override
    public void bulkServed(int states) {
      LOG.info("sending our table to a peer", kv("event", "sync-bulk-send"), kv("states", states));
    }
  }

  /**
   * Stops the threads and the capture; the conntrack table is left as it is (the states stay
   * valid).
   */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    loop.shutdownNow();
    try {
      loop.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    io.close();
    kernel.close();
    if (membership != null) {
      try {
        membership.close();
      } catch (IOException ignored) {
        // the channel goes with the process anyway
      }
    }
  }

  private static InetAddress literal(String ip) {
    try {
      return InetAddress.getByName(ip);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
