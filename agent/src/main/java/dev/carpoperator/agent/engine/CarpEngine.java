package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.carp.CarpAdvert;
import dev.carpoperator.agent.carp.CarpEffect;
import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.DemotionCounters;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.engine.CarpReceivePipeline.Accepted;
import dev.carpoperator.agent.engine.CarpReceivePipeline.NotCarp;
import dev.carpoperator.agent.engine.CarpReceivePipeline.OwnFrame;
import dev.carpoperator.agent.engine.CarpReceivePipeline.Rejected;
import dev.carpoperator.agent.engine.CarpReceivePipeline.Unparsable;
import dev.carpoperator.agent.engine.plumbing.LoopGuard;
import dev.carpoperator.agent.engine.plumbing.UnicastPeers;
import dev.carpoperator.agent.linux.LoadShareDataplane;
import dev.carpoperator.agent.linux.LoadSharePlane;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.AddressChanges;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.NeighbourTable;
import dev.carpoperator.agent.net.NicLookup;
import dev.carpoperator.agent.net.NodeAddresses;
import dev.carpoperator.agent.net.SystemNicLookup;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the CARP state machines on real NICs: the loop that owns them and wires the parts.
 * Threading: one event-loop thread owns every state machine (they are not thread-safe and need not
 * be), their timers and the link poll; receive threads run the pure {@link CarpReceivePipeline} and
 * post only accepted adverts to the loop; the {@link AddressActuator}'s one worker makes the
 * blocking address changes, so an election never waits for {@code ip} and the order
 * take-over/release per vhid is kept. The other parts: {@link AdvertSender} frames the adverts,
 * {@link LinkFacts} knows the NICs, {@link LoadShareCoordinator} keeps the load-sharing rules in
 * step with the elections, {@link VhidDiff} says what a reconfiguration changes.
 *
 * <p>Load sharing (OpenBSD carpnodes + balancing): several vhids share one address set, each with
 * its own election. Every node keeps the addresses on its NIC while it runs; what follows the
 * elections is the nftables rule set deciding which traffic and which ARP requests this node takes.
 */
public final class CarpEngine implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CarpEngine.class);

  /** OpenBSD's rc demotes by 128 until boot has finished; we do until every vhost has started. */
  static final int STARTUP_DEMOTION = 128;

  private static final long LINK_POLL_MILLIS = 200;

  /** Why a vhid is refused, as reported in the VirtualAddress status. */
  public static final String ADDRESS_IS_NODE_ADDRESS = "AddressIsNodeAddress";

  /** Where the engine meets the host: each a port, so that tests can run it on fakes. */
  record Ports(
      AddressChanges addresses,
      Function<String, FrameIo> frameIo,
      LoadSharePlane loadSharing,
      NicLookup nics,
      UnicastPeers.Neighbours neighbours) {}

  private final String node;
  private final boolean demoteOnLinkDown;
  private final LongSupplier clock;
  private final AgentMetrics metrics;
  private final DemotionCounters demotion = new DemotionCounters();
  private int lastAdvertisedDemotion = -1; // loop thread only: listeners hear changes only
  private boolean preempt;

  /** Grows when reconfigure adds an interface; read by the metrics callback. */
  private final Map<String, RejectionCounters> rejections = new ConcurrentHashMap<>();

  private final ScheduledExecutorService loop =
      Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "carp-engine"));
  private final LoopGuard tasks =
      new LoopGuard("the CARP engine", e -> log.error("engine task failed", e));
  private final LinkFacts facts;
  private final AddressActuator actuator;
  private final LoadShareCoordinator loadSharing;
  private final AdvertSender sender;
  private final EngineEvents events;
  private final CarpLinks links;
  private volatile boolean stopped;
  private volatile boolean demoteUntilReady = true;

  /**
   * @param addresses where the virtual addresses are added and removed ({@code AddressManager})
   * @param frameIoFactory opens a NIC's frame I/O
   * @param clock nanoseconds, monotonic ({@code System::nanoTime})
   */
  public CarpEngine(
      String node,
      boolean preempt,
      boolean demoteOnLinkDown,
      int maintenanceDemotion,
      List<VhostSpec> specs,
      AddressChanges addresses,
      Function<String, FrameIo> frameIoFactory,
      LongSupplier clock) {
    this(
        node,
        preempt,
        demoteOnLinkDown,
        maintenanceDemotion,
        specs,
        new Ports(
            addresses,
            frameIoFactory,
            new LoadShareDataplane(),
            SystemNicLookup.INSTANCE,
            new NeighbourTable()::lookup),
        clock);
  }

  CarpEngine(
      String node,
      boolean preempt,
      boolean demoteOnLinkDown,
      int maintenanceDemotion,
      List<VhostSpec> specs,
      Ports ports,
      LongSupplier clock) {
    this.node = node;
    this.demoteOnLinkDown = demoteOnLinkDown;
    this.clock = clock;
    this.preempt = preempt;
    this.metrics = new AgentMetrics(rejections);
    this.facts = new LinkFacts(ports.nics());
    this.actuator = new AddressActuator(ports.addresses(), metrics);
    this.loadSharing =
        new LoadShareCoordinator(
            node,
            ports.loadSharing(),
            actuator,
            facts,
            metrics,
            this::retryInOneSecond,
            () -> stopped);
    this.sender = new AdvertSender(facts, new UnicastPeers(ports.neighbours()), metrics);
    this.events = new EngineEvents(node, metrics);
    this.links =
        new CarpLinks(
            rejections, facts, actuator, loadSharing, events, ports.frameIo(), this::onFrame);
    for (VhostSpec s : specs) links.add(s, preempt);
    demotion.set(DemotionCounters.CARP_GROUP, DemotionCounters.Reason.ADMIN, maintenanceDemotion);
  }

  public AgentMetrics metrics() {
    return metrics;
  }

  /**
   * Received adverts rejected for {@code reason} on an interface since start (0 for an unknown
   * interface).
   */
  public long rejected(String interfaceName, RejectReason reason) {
    RejectionCounters c = rejections.get(interfaceName);
    return c == null ? 0 : c.rejected(reason);
  }

  /** Registers a listener; add listeners before {@link #start()} to see every change. */
  public void addListener(EngineListener listener) {
    events.add(listener);
  }

  public void removeListener(EngineListener listener) {
    events.remove(listener);
  }

  /**
   * Whether to demote by {@link #STARTUP_DEMOTION} until every vhost runs (FirewallCluster
   * demotion.untilReady, default true). Call before {@link #start}.
   */
  public void demoteUntilReady(boolean on) {
    demoteUntilReady = on;
  }

  /**
   * Where this agent records the addresses it adds ({@link AddressRecord}); call before {@link
   * #start}. Without it the record is kept in memory only: nothing left by an earlier run is
   * removed.
   */
  public void recordAddressesIn(AddressRecord record) {
    actuator.recordIn(record);
  }

  /**
   * Refuses vhids on the host's own addresses, removes what an earlier run left, opens the NICs,
   * starts every vhost.
   */
  public void start() throws IOException {
    demotion.set(
        DemotionCounters.CARP_GROUP,
        DemotionCounters.Reason.STARTUP,
        demoteUntilReady ? STARTUP_DEMOTION : 0);
    facts.refreshLocalAddresses();
    links.refuseNodeAddresses();
    actuator.removeLeftovers(loadSharing.sharedAddresses(), facts::exists);
    links.openAll();
    loadSharing.start();
    events.beforeFirstAdvert();
    runOnLoop(
        () -> {
          long now = clock.getAsLong();
          for (CarpVhost v : links.vhosts()) startVhost(v, now);
          // Ready: every vhost runs. Dropping the start-up demotion announces nothing (only 0 ->
          // positive does).
          applyDemotion(
              demotion.set(DemotionCounters.CARP_GROUP, DemotionCounters.Reason.STARTUP, 0));
        });
    loop.scheduleWithFixedDelay(
        tasks.wrap(this::pollLinks), LINK_POLL_MILLIS, LINK_POLL_MILLIS, TimeUnit.MILLISECONDS);
    log.info("agent started", kv("node", node), kv("vhosts", links.vhosts().size()));
  }

  /**
   * Applies a new configuration without disturbing what did not change ({@link VhidDiff}): vhids
   * that are gone or changed bow out and release their addresses, new ones start, unchanged ones
   * keep running untouched (changing one address never makes another fail over). A change of {@code
   * preempt} is applied in place to every vhid, load-shared ones included, without a bow-out (as
   * OpenBSD's sysctl): it takes effect with the next advert heard. Load-shared groups are fixed at
   * start otherwise: changes to them are refused with an exception (restart the agent).
   */
  public void reconfigure(boolean newPreempt, List<VhostSpec> specs) {
    for (VhostSpec sp : specs) {
      if (sp.share() != null)
        throw new IllegalArgumentException(
            "vhid "
                + sp.vhid()
                + ": load-shared groups cannot be changed while running; restart the agent");
    }
    try {
      loop.submit(
              () -> {
                applyConfiguration(newPreempt, specs);
                return null;
              })
          .get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("reconfiguration failed", e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("reconfiguration timed out", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Loop thread. */
  private void applyConfiguration(boolean newPreempt, List<VhostSpec> specs) {
    long now = clock.getAsLong();
    if (newPreempt != preempt) {
      for (CarpVhost v : links.vhosts()) v.sm.setPreempt(newPreempt);
      log.info(
          "preempt {}",
          newPreempt ? "on" : "off",
          kv("event", "reconfigure"),
          kv("preempt", newPreempt));
    }
    preempt = newPreempt;
    Map<String, CarpVhost> running = new LinkedHashMap<>();
    for (CarpVhost v : links.vhosts())
      if (v.group == null) running.put(VhidDiff.key(v.link.name, v.vhid()), v);
    Map<String, VhostSpec> runningSpecs = new LinkedHashMap<>();
    running.forEach((key, v) -> runningSpecs.put(key, v.spec));
    VhidDiff diff = VhidDiff.of(runningSpecs, specs);
    for (String key : diff.stop()) {
      CarpVhost v = running.get(key);
      execute(v, v.sm.shutdown(now)); // bow out, release
      if (v.timer != null) v.timer.cancel(false);
      links.remove(v);
    }
    // a vhid refused before is tried again: its address may be fixed
    List<NodeAddresses.HostAddress> host =
        diff.start().isEmpty() ? List.of() : facts.hostAddresses();
    int added = 0;
    for (VhostSpec sp : diff.start()) {
      CarpVhost v = links.addRunning(sp, preempt, host);
      if (v == null) continue;
      startVhost(v, now);
      added++;
    }
    if (diff.stop().size() + added > 0)
      log.info(
          "configuration applied",
          kv("event", "reconfigure"),
          kv("stopped", diff.stop().size()),
          kv("started", added));
  }

  /** Loop thread: starts the election of a vhost (INIT until the link has carrier). */
  private void startVhost(CarpVhost v, long now) {
    v.sm.demotionChanged(now, advertisedDemotion(v), false);
    execute(v, v.link.carrier ? v.sm.start(now) : v.sm.linkDown(now));
  }

  /** The vhids this engine runs, as (interface, vhid) keys "eth0/1". */
  public List<String> vhostKeys() {
    try {
      return onLoop(
          () -> links.vhosts().stream().map(v -> VhidDiff.key(v.link.name, v.vhid())).toList());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Operator maintenance: set this node's administrative demotion (OpenBSD carpdemote). */
  public void setMaintenanceDemotion(int count) {
    runOnLoop(
        () ->
            applyDemotion(
                demotion.set(DemotionCounters.CARP_GROUP, DemotionCounters.Reason.ADMIN, count)));
  }

  /**
   * State sync: demoted while the start-up bulk update is pending (OpenBSD pfsync's +32), 0 once
   * the table is in.
   */
  public void setSyncDemotion(int count) {
    runOnLoop(
        () ->
            applyDemotion(
                demotion.set(
                    DemotionCounters.CARP_GROUP, DemotionCounters.Reason.SYNC_BULK, count)));
  }

  /**
   * Health checks: the demotion of one vhid (on every interface that runs it) while checks of its
   * address fail, the sum of their weights; 0 when they pass. Other vhids are not touched: the
   * vhid's own demotion group (OpenBSD's interface groups, one per vhid).
   */
  public void setCheckDemotion(int vhid, int weight) {
    runOnLoop(
        () ->
            applyDemotion(
                demotion.set(vhidGroup(vhid), DemotionCounters.Reason.HEALTH_CHECK, weight)));
  }

  /** The demotion group of one vhid's own counters. */
  static String vhidGroup(int vhid) {
    return "vhid-" + vhid;
  }

  /** The state of one vhid, read on the loop thread. */
  public CarpState state(String interfaceName, int vhid) {
    try {
      return onLoop(() -> links.get(interfaceName).vhosts.get(vhid).sm.state());
    } catch (Exception e) {
      throw new IllegalStateException("cannot read the state of vhid " + vhid, e);
    }
  }

  private <T> T onLoop(Callable<T> query) throws Exception {
    return loop.submit(query).get(5, TimeUnit.SECONDS);
  }

  // ------------------------------------------------------------------ receive threads

  private void onFrame(CarpLink link, byte[] frame) {
    try {
      switch (link.pipeline.receive(frame)) {
        case Unparsable u -> metrics.framesDropped.labelValues(u.label()).inc();
        case NotCarp n -> {}
        case OwnFrame o -> {} // our own announcement frames
        case Rejected r -> events.advertRejected(link, r);
        case Accepted a -> runOnLoop(() -> onAdvert(link, a.advert()));
      }
    } catch (RuntimeException e) {
      // Input from the network must never stop the agent: count it and go on.
      metrics.framesDropped.labelValues("error").inc();
      log.debug("frame dropped", e);
    }
  }

  // ------------------------------------------------------------------ loop thread

  private void onAdvert(CarpLink link, CarpAdvert advert) {
    CarpVhost v = link.vhosts.get(advert.vhid());
    if (v == null) return;
    // The receive thread validated against the keys of that moment; if reconfigure replaced the
    // vhost since (other addresses or password), the advert belongs to the old one and must not
    // steer the new one.
    if (!v.hmac.verify(advert.counter(), advert.digest(), 0)) return;
    metrics.advertsReceived.labelValues(link.name, v.vhidLabel).inc();
    execute(v, v.sm.advertReceived(clock.getAsLong(), advert));
  }

  private void execute(CarpVhost v, List<CarpEffect> effects) {
    ShareGroup g = v.group;
    for (CarpEffect effect : effects) {
      switch (effect) {
        case CarpEffect.SendAdvert s -> sender.send(v, s);
        case CarpEffect.TakeOverAddresses t -> {
          if (g == null) actuator.execute(() -> actuator.takeOver(v));
          else if (g.announcedBy(v)) actuator.execute(() -> loadSharing.announce(g));
        }
        case CarpEffect.Reclaim r -> events.reclaimed(v);
        case CarpEffect.Reannounce r -> {
          if (g == null) actuator.execute(() -> actuator.announce(v));
          else if (g.announcedBy(v)) actuator.execute(() -> loadSharing.announce(g));
        }
        case CarpEffect.ReleaseAddresses r -> {
          // shared addresses stay while we run
          if (g == null) actuator.execute(() -> actuator.release(v));
        }
        case CarpEffect.StateChanged c -> {
          events.stateChanged(v, c);
          if (g != null) loadSharing.update();
        }
      }
    }
    reschedule(v);
  }

  private void reschedule(CarpVhost v) {
    if (v.timer != null) v.timer.cancel(false);
    v.timer = null;
    if (stopped) return;
    var deadline = v.sm.nextDeadline();
    if (deadline.isEmpty()) return;
    long delay = Math.max(0, deadline.getAsLong() - clock.getAsLong());
    // a timer that failed unnoticed would leave the vhid silent
    LoopGuard guard =
        new LoopGuard("the CARP timer of vhid " + v.vhid(), e -> log.error("timer task failed", e));
    v.timer =
        loop.schedule(
            guard.wrap(() -> execute(v, v.sm.tick(clock.getAsLong()))),
            delay,
            TimeUnit.NANOSECONDS);
  }

  private void pollLinks() {
    long now = clock.getAsLong();
    for (CarpLink link : facts.poll(links.all())) {
      boolean up = link.carrier;
      for (CarpVhost v : link.vhosts.values())
        execute(v, up ? v.sm.linkUp(now) : v.sm.linkDown(now));
      if (demoteOnLinkDown)
        applyDemotion(
            demotion.adjust(
                DemotionCounters.CARP_GROUP, DemotionCounters.Reason.LINK_DOWN, up ? -1 : 1));
    }
  }

  private void applyDemotion(DemotionCounters.Change change) {
    int nodeWide = demotion.advertised(List.of());
    metrics.demotion.set(nodeWide);
    long now = clock.getAsLong();
    boolean everyVhost = DemotionCounters.CARP_GROUP.equals(change.group());
    for (CarpVhost v : links.vhosts()) {
      if (!everyVhost && !change.group().equals(vhidGroup(v.vhid()))) continue;
      int advertised = advertisedDemotion(v);
      // A master whose demotion grows advertises at once, so a backup takes over within
      // milliseconds rather than at the next advert (OpenBSD announces on 0 -> positive).
      boolean announce = change.announce() || advertised > v.sm.demotion();
      execute(v, v.sm.demotionChanged(now, advertised, announce));
    }
    if (nodeWide != lastAdvertisedDemotion) {
      lastAdvertisedDemotion = nodeWide;
      events.demotionChanged(nodeWide);
    }
  }

  /** What a vhost advertises: the node's counters plus those of its own vhid. */
  private int advertisedDemotion(CarpVhost v) {
    return demotion.advertised(List.of(vhidGroup(v.vhid())));
  }

  /** Runs {@code task} on the loop thread, guarded ({@link LoopGuard}); not once stopped. */
  private void runOnLoop(Runnable task) {
    if (stopped) return;
    tasks.post(loop, task);
  }

  /** After a failed load-sharing update (address worker). */
  private void retryInOneSecond(Runnable task) {
    try {
      loop.schedule(tasks.wrap(task), 1, TimeUnit.SECONDS);
    } catch (RejectedExecutionException e) {
      // stopping
    }
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * Bows out (one advert with advbase and advskew 255 so a backup takes over at once), releases,
   * stops.
   */
  @Override
  public void close() {
    if (stopped) return;
    try {
      loop.submit(
              () -> {
                long now = clock.getAsLong();
                for (CarpVhost v : links.vhosts()) execute(v, v.sm.shutdown(now));
                stopped = true;
                for (CarpVhost v : links.vhosts()) if (v.timer != null) v.timer.cancel(false);
              })
          .get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("clean shutdown incomplete", e);
    }
    stopped = true;
    loop.shutdownNow();
    actuator.shutdown();
    if (!loadSharing.isEmpty()) loadSharing.stop();
    links.close();
    log.info("agent stopped", kv("node", node));
  }
}
