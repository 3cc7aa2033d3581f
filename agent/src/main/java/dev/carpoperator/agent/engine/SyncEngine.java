package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.engine.plumbing.LoopGuard;
import dev.carpoperator.agent.engine.plumbing.RateLimitedWarnings;
import dev.carpoperator.agent.engine.plumbing.UnicastPeers;
import dev.carpoperator.agent.linux.sched.RealtimeThreads;
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
import dev.carpoperator.agent.sync.InboundSyncPacket;
import dev.carpoperator.agent.sync.SyncCore;
import dev.carpoperator.agent.sync.SyncCounters;
import dev.carpoperator.agent.sync.SyncEnvelope;
import dev.carpoperator.agent.sync.SyncPacketValidator;
import dev.carpoperator.agent.sync.SyncValidationResult;
import dev.carpoperator.agent.sync.TakeoverWindows;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.List;
import java.util.Set;
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
 * to 224.0.0.240 or unicast peers) that {@link SyncPacketValidator} let through, and by timers;
 * {@link SyncCoreDriver} hands the core its inputs and has its kernel writes carried out. What the
 * core sends goes out through {@link FrameIo}, sealed by {@link SyncEnvelope} unless the mode is
 * bsd-compatible. While the start-up bulk update is pending, CARP is demoted by {@link
 * SyncDemotion#BULK_DEMOTION} (OpenBSD's "pfsync bulk start" weight) through {@code demotion}, so
 * this node does not become master with an empty table.
 */
public final class SyncEngine implements AutoCloseable {
  static final Inet4Address GROUP = (Inet4Address) InetAddress.ofLiteral(Pfsync.GROUP_V4);
  static final long TICK_MILLIS = 10;

  /**
   * A gap between two ticks longer than this means the process was not running (frozen, paused):
   * ask the peers for their table. A third of the envelope's freshness window, so a pause that made
   * buffered packets stale is always caught, with room for a busy machine's hiccups below it.
   */
  static final long PAUSE_NANOS =
      TimeUnit.MILLISECONDS.toNanos(SyncEnvelope.FRESHNESS_WINDOW_MILLIS / 3);

  private final PauseDetector pauses = new PauseDetector(PAUSE_NANOS);

  static final long REFRESH_SECONDS = 10;

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
   * @param realtimePriority SCHED_RR priority of the threads a state passes through (1..99), as
   *     conntrackd's Scheduler; 0 leaves them at normal priority
   */
  public record Settings(
      String interfaceName,
      List<Inet4Address> peers,
      byte[] key,
      boolean encrypt,
      int hostId,
      int maxDelayMillis,
      int bulkTimeoutSeconds,
      int realtimePriority) {}

  private final Settings settings;
  private final ConntrackKernel kernel;
  private final FrameIo io;
  private final SyncDemotion demotion;
  private final LongSupplier clock;
  private final SyncCounters counters = new SyncCounters();
  private final SyncCore core;
  private final SyncCoreDriver driver; // loop thread only
  private final ScheduledExecutorService loop;
  private final SyncInbox inbox;
  private final SyncEnvelope sealer; // loop thread only
  private final SyncPacketValidator intake; // receive thread only
  private final UnicastPeers unicast = new UnicastPeers(new NeighbourTable()::lookup);
  private final MacAddress mac;
  private final int mtu;
  private final RateLimitedWarnings warnings;
  private final RealtimeThreads realtime;
  private volatile int tableSize; // for the metrics scrape; written by the loop thread
  private MulticastMembership membership;
  private volatile boolean closed;

  private boolean refreshWaiting; // loop thread only: the periodic refresh waits for a bulk
  private boolean refreshAgain; // loop thread only: another refresh was asked for meanwhile

  /**
   * Reads the refresh's and the takeover's dumps, at normal priority, so that the loop goes on
   * meanwhile.
   */
  private final java.util.concurrent.ExecutorService dumper =
      Executors.newSingleThreadExecutor(Thread.ofPlatform().name("sync-dump").daemon().factory());

  /** A loosening at takeover is queued once (several vhids become master together). */
  private final java.util.concurrent.atomic.AtomicBoolean takeoverQueued =
      new java.util.concurrent.atomic.AtomicBoolean();

  private CarpEngine followed;
  private EngineListener takeoverHook;

  /**
   * The vhids this node is master of ({@link VhidDiff#key}), kept from the followed CARP engine's
   * transitions: asking that engine would block the sync loop on the CARP loop.
   */
  private final Set<String> masterOf = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final EventsDuringBulk eventsDuringBulk = new EventsDuringBulk(); // loop thread only

  private Inet4Address cachedSource; // loop thread only
  private Set<Inet4Address> localPeers = Set.of(); // peers that are this node's own addresses
  private long cachedSourceAt;

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

  public SyncEngine(
      Settings settings,
      ConntrackKernel kernel,
      Function<String, FrameIo> frameIoFactory,
      IntConsumer demotion)
      throws IOException {
    this.settings = settings;
    this.kernel = kernel;
    this.demotion = new SyncDemotion(settings.interfaceName(), demotion);
    this.clock = System::nanoTime;
    this.warnings = new RateLimitedWarnings(WARN_EVERY_NANOS, clock);
    this.realtime = new RealtimeThreads(settings.realtimePriority());
    NetworkInterface nic = NetworkInterface.getByName(settings.interfaceName());
    if (nic == null)
      throw new IOException("sync interface " + settings.interfaceName() + " does not exist");
    this.mac = MacAddress.of(nic.getHardwareAddress());
    this.mtu = nic.getMTU() > 0 ? nic.getMTU() : 1500;
    this.sealer =
        settings.key() == null ? null : new SyncEnvelope(settings.key(), settings.encrypt());
    this.intake =
        new SyncPacketValidator(
            settings.peers(),
            settings.key() == null ? null : new SyncEnvelope(settings.key(), settings.encrypt()),
            counters);
    int budget = Pfsync.payloadBudget(mtu) - (sealer == null ? 0 : SyncEnvelope.TRAILER_LENGTH);
    var log = new SyncCoreLog(this::bulkStepped, this::warn);
    this.driver = new SyncCoreDriver(settings, budget, kernel, log, counters, clock, this::sendDue);
    this.core = driver.core();
    this.loop =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t =
                  new Thread(
                      () -> {
                        realtime.enter("sync-loop");
                        r.run();
                      },
                      "sync-loop");
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
    return demotion.bulkState();
  }

  /**
   * Called (on the sync thread) whenever the start-up bulk state changes; e.g. the Kubernetes
   * status reporter.
   */
  public void addBulkListener(Consumer<BulkState> listener) {
    demotion.addListener(listener);
  }

  /**
   * Starts following the kernel, asks the peers for their table (holding CARP demoted meanwhile)
   * and serves theirs.
   */
  public void start() throws IOException {
    if (settings.peers().isEmpty())
      membership = MulticastMembership.joinV4(settings.interfaceName(), GROUP);
    demotion.starting(); // before anything can make us master
    // Listen before dumping: a connection opened in between then shows up twice, which is harmless,
    // not never.
    kernel.listen(
        new ConntrackKernel.Listener() {
          @Override
          public void event(ConntrackKernel.EventType type, ConntrackEntry entry) {
            realtime.enter("conntrack-events");
            offer(
                SyncInbox.Input.CONNTRACK_EVENT,
                () -> driver.kernelEvent(type, entry, inbox.pending() > 0));
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
    loop.scheduleWithFixedDelay(
        this::periodicRefresh, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
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
   * Follows {@code carp}: when one of its vhids becomes master, or stays master after another node
   * may have been master meanwhile ({@link EngineListener#reclaimed}), the TCP window checks of
   * this node's own connections are relaxed ({@link TakeoverWindows}). {@link #close} stops
   * following.
   */
  public void followCarp(CarpEngine carp) {
    EngineListener hook =
        new EngineListener() {
          @Override
          public void stateChanged(StateChange change) {
            String key = VhidDiff.key(change.interfaceName(), change.vhid());
            if (change.to() == dev.carpoperator.agent.carp.CarpState.MASTER) {
              masterOf.add(key);
              submit(() -> carryOut(eventsDuringBulk.becameMaster()));
              takingOver();
            } else if (change.from() == dev.carpoperator.agent.carp.CarpState.MASTER) {
              masterOf.remove(key);
            }
          }

          @Override
          public void reclaimed(String interfaceName, int vhid) {
            takingOver(); // another node forwarded meanwhile, as before a takeover
          }
        };
    carp.addListener(hook);
    followed = carp;
    takeoverHook = hook;
  }

  /**
   * This node became master of a vhid: relax the window checks of its own TCP connections, on the
   * dump thread, once for changes that come together.
   */
  public void takingOver() {
    if (closed || !takeoverQueued.compareAndSet(false, true)) return;
    try {
      dumper.execute(this::loosenOwnWindows);
    } catch (RejectedExecutionException e) { // closing
      takeoverQueued.set(false);
    }
  }

  /**
   * On the dump thread, so that the loop goes on replicating meanwhile: on the loop, the dump held
   * it for about a second at 250 000 entries, just when a failover needs it. The kernel binding
   * serialises these updates with the loop's writes.
   */
  private void loosenOwnWindows() {
    takeoverQueued.set(false);
    long started = clock.getAsLong();
    List<ConntrackEntry> table;
    List<ConntrackEntry> loosen;
    try {
      table = kernel.dump();
      loosen = TakeoverWindows.toLoosen(table);
    } catch (RuntimeException e) { // a refusal, or closing
      if (!closed)
        warn(
            "dump",
            "cannot dump the conntrack table to relax the windows of this node's connections at takeover: "
                + e.getMessage());
      return;
    }
    int done = 0;
    for (ConntrackEntry e : loosen) {
      try {
        if (kernel.makeLiberal(e)) done++;
      } catch (ConntrackException ex) {
        warn("takeover", "cannot relax the TCP window check of " + e + ": " + ex.getMessage());
      } catch (RuntimeException ex) { // closing
        if (closed) return;
        throw ex;
      }
    }
    counters.takeoverLoosened.addAndGet(done);
    long millis = (clock.getAsLong() - started) / 1_000_000;
    // always logged: until this is done, this node's own connections may stall (about 1 s at
    // 250 000 entries)
    LOG.info(
        "became master: TCP window checks relaxed on {} connections this node tracked itself (their windows may be stale), {} entries in the table, {} ms",
        done,
        table.size(),
        millis,
        kv("event", "sync-takeover"),
        kv("connections", done),
        kv("tableEntries", table.size()),
        kv("millis", millis));
  }

  /**
   * Registers the sync metrics (states sent, received, applied, rejected; bulk progress) in {@code
   * registry}.
   */
  public void registerMetrics(PrometheusRegistry registry) {
    SyncMetrics.register(
        registry, counters, demotion::bulkState, () -> tableSize, io, inbox, kernel);
  }

  // ------------------------------------------------------------------ loop thread

  private void tick() {
    if (closed) return;
    try {
      TICKS.run(
          () -> {
            long pause = pauses.turn(clock.getAsLong());
            if (pause > 0) driver.resumed(pause);
            if (inbox.takeResync(clock.getAsLong()))
              refresh(); // after an overload, once the queue has drained
            else if (refreshWaiting && !core.refreshWaits()) periodicRefresh();
            sendDue();
            tableSize = core.tableSize();
          });
    } finally {
      if (!closed)
        loop.schedule(this::tick, core.bulkSending() ? 1 : TICK_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /** A step of our own bulk update: CARP's demotion, and the kernel events we follow meanwhile. */
  private void bulkStepped(BulkState to) {
    demotion.bulkStateChanged(to);
    carryOut(eventsDuringBulk.bulkStateChanged(to, !masterOf.isEmpty()));
  }

  private void carryOut(EventsDuringBulk.Step step) {
    switch (step) {
      case NONE -> {}
      case STOP_FOLLOWING -> {
        try {
          kernel.followNewAndUpdates(false);
          LOG.info(
              "not following this node's new and updated connections while the bulk update comes"
                  + " in; a dump catches them up afterwards",
              kv("event", "sync-bulk-events"),
              kv("following", false));
        } catch (ConntrackException e) {
          eventsDuringBulk.stopRefused();
          warn("events", "cannot pause the conntrack events during the bulk: " + e.getMessage());
        }
      }
      case FOLLOW_AGAIN_AND_REFRESH -> {
        try {
          kernel.followNewAndUpdates(true);
        } catch (ConntrackException e) {
          // only the periodic refresh would see this node's changes now: say so loudly
          LOG.error(
              "cannot follow the conntrack events again after the bulk update: "
                  + e.getMessage()
                  + "; this node's changes reach the peers only with the refresh every "
                  + REFRESH_SECONDS
                  + " s",
              kv("event", "sync-error"));
        }
        refreshWaiting = true; // the tick refreshes once nothing holds the refresh back
        LOG.info(
            "following this node's connections again; a refresh from a dump follows",
            kv("event", "sync-bulk-events"),
            kv("following", true));
      }
    }
  }

  private void sendDue() {
    for (SyncCore.Outgoing o : core.pollPackets(clock.getAsLong())) send(o);
  }

  /** Sync link down: demote; back: ask the peers for their table again. */
  private void pollLink() {
    if (closed) return;
    if (demotion.linkPolled(!Carrier.isUp(settings.interfaceName()))) driver.linkBack();
  }

  /** The periodic refresh, put off while a bulk is under way ({@link SyncCore#refreshWaits}). */
  private void periodicRefresh() {
    refreshWaiting = core.refreshWaits();
    if (!refreshWaiting) refresh();
  }

  /**
   * Reads the kernel's table on the dump thread while the loop goes on (a dump of 40 000 entries
   * held the loop for about 150 ms, of 250 000 for over a second: the lag's worst samples), then
   * reconciles on the loop; the core keeps what changed meanwhile ({@link SyncCore#dumpStarting}).
   * A refresh asked for while a dump is being read follows it (a resync after lost events needs a
   * dump begun after the loss).
   */
  private void refresh() {
    if (core.dumpUnderWay()) {
      refreshAgain = true;
      return;
    }
    core.dumpStarting();
    try {
      dumper.execute(this::readDump);
    } catch (RejectedExecutionException e) { // closing
      core.dumpAbandoned();
    }
  }

  /** On the dump thread. */
  private void readDump() {
    List<ConntrackEntry> table;
    try {
      table = kernel.dump();
    } catch (RuntimeException e) {
      submit(
          () -> {
            refreshAgain = false; // the next periodic refresh tries again
            core.dumpAbandoned();
            if (!closed) warn("dump", "cannot dump the conntrack table: " + e.getMessage());
          });
      return;
    }
    submit(
        () -> {
          core.refresh(table, clock.getAsLong());
          if (refreshAgain) {
            refreshAgain = false;
            refresh();
          }
        });
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

  // ------------------------------------------------------------------ receive thread

  private void onFrame(byte[] frame) {
    realtime.enter("sync-receive");
    if (!(FrameParser.parse(frame) instanceof FrameParser.Packet p)
        || p.protocol() != Pfsync.IPPROTO_PFSYNC) return;
    if (p.srcMac().equals(mac)) return; // our own multicast, looped back by the capture
    var packet =
        new InboundSyncPacket(
            p.hopLimit(), p.src(), p.frame(), p.payloadOffset(), p.payloadLength());
    switch (intake.validate(packet)) {
      case SyncValidationResult.Rejected r -> warn(r.reason().label(), r.message());
      case SyncValidationResult.Sealed sealed ->
          offer(SyncInbox.Input.SYNC_PACKET, () -> driver.received(sealed));
      case SyncValidationResult.Plain plain ->
          offer(SyncInbox.Input.SYNC_PACKET, () -> driver.received(plain));
    }
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

  /** At most one line per reason per 10 s, saying how many were suppressed. */
  private void warn(String reason, String message) {
    long suppressed = warnings.admit(reason);
    if (suppressed < 0) return;
    LOG.warn(
        message, kv("event", "sync-warning"), kv("reason", reason), kv("suppressed", suppressed));
  }

  /**
   * Stops the threads and the capture; the conntrack table is left as it is (the states stay
   * valid).
   */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    if (followed != null) followed.removeListener(takeoverHook);
    dumper.shutdownNow();
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
}
