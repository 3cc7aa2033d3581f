package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.Fatal;
import dev.carpoperator.agent.carp.AdvertValidator;
import dev.carpoperator.agent.carp.CarpAction;
import dev.carpoperator.agent.carp.CarpAdvert;
import dev.carpoperator.agent.carp.CarpHmac;
import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.CarpStateMachine;
import dev.carpoperator.agent.carp.DemotionCounters;
import dev.carpoperator.agent.carp.InboundPacket;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.carp.ReplayCookie;
import dev.carpoperator.agent.carp.ValidationResult;
import dev.carpoperator.agent.carp.VhidOrder;
import dev.carpoperator.agent.carp.VhostConfig;
import dev.carpoperator.agent.carp.VhostKeys;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.agent.linux.LoadShareDataplane;
import dev.carpoperator.agent.linux.LoadShareRules;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.AddressManager;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.AnnouncementFrames;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.Carrier;
import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.agent.net.MulticastMembership;
import dev.carpoperator.agent.net.NeighbourTable;
import dev.carpoperator.agent.net.NodeAddresses;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the CARP state machines on real NICs. Threading: one event-loop thread owns every state
 * machine (they are not thread-safe and need not be); receive threads parse and validate frames
 * (pure and thread-safe) and post only accepted adverts to the loop; one serial worker makes the
 * blocking address changes, so an election never waits for {@code ip} and the order
 * take-over/release per vhid is kept.
 *
 * <p>Load sharing (OpenBSD carpnodes + balancing): several vhids share one address set, each with
 * its own election. Every node keeps the addresses on its NIC while it runs; what follows the
 * elections is the nftables rule set ({@link LoadShareRules}) deciding which traffic and which ARP
 * requests this node takes, rewritten by the address worker after every state change of a member
 * vhid.
 */
public final class CarpEngine implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CarpEngine.class);

  /** OpenBSD's rc demotes by 128 until boot has finished; we do until every vhost has started. */
  static final int STARTUP_DEMOTION = 128;

  private static final long LINK_POLL_MILLIS = 200;

  private final String node;
  private final boolean demoteOnLinkDown;
  private final LongSupplier clock;
  private final AgentMetrics metrics;
  private final AddressManager addresses;
  private final Function<String, FrameIo> frameIoFactory;
  private final DemotionCounters demotion = new DemotionCounters();
  private final SecureRandom random = new SecureRandom();
  private boolean preempt;
  private final Map<String, Link> links = new LinkedHashMap<>();

  /**
   * This host's addresses as of the last link poll (a Kubernetes peer list includes the node's own
   * address).
   */
  private volatile Set<InetAddress> localAddresses = Set.of();

  private final Map<String, RejectionCounters> rejections;
  private final ScheduledExecutorService loop =
      Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "carp-engine"));
  private final ExecutorService addressWorker =
      Executors.newSingleThreadExecutor(r -> new Thread(r, "carp-addresses"));
  private final Map<String, Group> groups = new LinkedHashMap<>();
  private final LoadShareDataplane dataplane;

  /**
   * Latest wanted rule set (written on the loop, applied by the address worker), and what nft last
   * accepted.
   */
  private volatile Map<Group, Set<Integer>> wantedMasters;

  private Map<Group, Set<Integer>> appliedMasters;
  private volatile boolean stopped;
  private final NeighbourTable neighbours = new NeighbourTable();
  private final List<EngineListener> listeners = new CopyOnWriteArrayList<>();

  /** What this agent added to the NICs: the only addresses it ever removes. */
  private volatile AddressRecord record = AddressRecord.inMemory();

  /** Why a vhid is refused, as reported in the VirtualAddress status. */
  public static final String ADDRESS_IS_NODE_ADDRESS = "AddressIsNodeAddress";

  /**
   * One vhid on one interface; {@code share} is set when the vhid is one of a load-shared group's;
   * {@code peers} (IPv4, OpenBSD carppeer) replace the multicast group as destinations of the IPv4
   * adverts.
   */
  public record VhostSpec(
      String interfaceName,
      int vhid,
      int advbase,
      int advskew,
      boolean fastProfile,
      String passphrase,
      List<String> prefixes,
      LoadShare share,
      List<String> peers) {
    public VhostSpec(
        String interfaceName,
        int vhid,
        int advbase,
        int advskew,
        boolean fastProfile,
        String passphrase,
        List<String> prefixes) {
      this(
          interfaceName,
          vhid,
          advbase,
          advskew,
          fastProfile,
          passphrase,
          prefixes,
          null,
          List.of());
    }

    public VhostSpec(
        String interfaceName,
        int vhid,
        int advbase,
        int advskew,
        boolean fastProfile,
        String passphrase,
        List<String> prefixes,
        LoadShare share) {
      this(
          interfaceName,
          vhid,
          advbase,
          advskew,
          fastProfile,
          passphrase,
          prefixes,
          share,
          List.of());
    }

    /** Without the passphrase: specs end up in logs and exception messages. */
    @Override
    public String toString() {
      return "VhostSpec[interfaceName="
          + interfaceName
          + ", vhid="
          + vhid
          + ", advbase="
          + advbase
          + ", advskew="
          + advskew
          + ", fastProfile="
          + fastProfile
          + ", passphrase="
          + (passphrase == null || passphrase.isEmpty() ? "(none)" : "(set)")
          + ", prefixes="
          + prefixes
          + ", share="
          + share
          + ", peers="
          + peers
          + "]";
    }
  }

  /** The balancing mode and all vhids (carpNodes) of a load-shared address set. */
  public record LoadShare(Balancing mode, List<Integer> vhids) {
    public LoadShare {
      vhids = List.copyOf(vhids);
    }
  }

  /** The vhids sharing one address set on one NIC. */
  private final class Group {
    final Link link;
    final Balancing mode;
    final VhidOrder order;
    final List<String> prefixes;
    final List<Inet4Address> v4 = new ArrayList<>();
    final Map<Integer, Vhost> members = new LinkedHashMap<>();

    Group(Link link, LoadShare share, List<String> prefixes) {
      this.link = link;
      this.mode = share.mode();
      this.order = new VhidOrder(share.vhids());
      this.prefixes = List.copyOf(prefixes);
      for (String p : prefixes)
        if (InetAddress.ofLiteral(p.substring(0, p.indexOf('/'))) instanceof Inet4Address a)
          v4.add(a);
    }

    Set<Integer> masters() {
      Set<Integer> m = new TreeSet<>();
      members.forEach(
          (vhid, v) -> {
            if (v.sm.state() == CarpState.MASTER) m.add(vhid);
          });
      return m;
    }
  }

  /** Per-NIC runtime: frame I/O, validation, and the vhosts on it. */
  private final class Link {
    final String name;
    final Map<Integer, Vhost> vhosts = new LinkedHashMap<>();

    /** What the validator checks adverts against; updated when vhids come and go. */
    final Map<Integer, VhostKeys> keys = new ConcurrentHashMap<>();

    final RejectionCounters counters;
    AdvertValidator validator;
    FrameIo io;
    final List<MulticastMembership> memberships = new ArrayList<>();
    boolean joinedV4;
    boolean joinedV6;
    MacAddress mac;
    boolean carrier = true;

    /**
     * Where adverts go from, looked up when the link opens and at each link poll, not per advert: a
     * lookup lists the NIC's addresses, and with 255 vhids (255 adverts/s, each checked against
     * every virtual address) that cost a master a fifth of a core at idle. Volatile: the
     * load-sharing rules read the IPv4 one on the address worker.
     */
    volatile Inet4Address sourceV4;

    volatile Inet6Address linkLocalV6;

    Link(String name, RejectionCounters counters) {
      this.name = name;
      this.counters = counters;
    }
  }

  private final class Vhost {
    final Link link;
    final VhostSpec spec;
    final CarpStateMachine sm;
    final CarpHmac hmac;
    final List<Inet4Address> v4 = new ArrayList<>();
    final List<Inet6Address> v6 = new ArrayList<>();
    final List<Inet4Address> peers = new ArrayList<>();
    final String vhidLabel;
    Group group;
    ScheduledFuture<?> timer;

    Vhost(Link link, VhostSpec spec, boolean preempt, long cookie) {
      this.link = link;
      this.spec = spec;
      for (String p : spec.prefixes()) {
        InetAddress a = InetAddress.ofLiteral(p.substring(0, p.indexOf('/')));
        if (a instanceof Inet4Address a4) v4.add(a4);
        else v6.add((Inet6Address) a);
      }
      for (String peer : spec.peers()) peers.add((Inet4Address) InetAddress.ofLiteral(peer));
      List<InetAddress> all = new ArrayList<>(v4);
      all.addAll(v6);
      this.hmac = CarpHmac.of(spec.passphrase(), spec.vhid(), all);
      VhostConfig cfg =
          spec.fastProfile()
              ? VhostConfig.fast(spec.vhid(), spec.advskew(), preempt)
              : VhostConfig.of(spec.vhid(), spec.advbase(), spec.advskew(), preempt);
      this.sm = new CarpStateMachine(cfg, cookie);
      this.vhidLabel = Integer.toString(spec.vhid());
    }
  }

  public CarpEngine(
      String node,
      boolean preempt,
      boolean demoteOnLinkDown,
      int maintenanceDemotion,
      List<VhostSpec> specs,
      AddressManager addresses,
      Function<String, FrameIo> frameIoFactory,
      LongSupplier clock) {
    this(
        node,
        preempt,
        demoteOnLinkDown,
        maintenanceDemotion,
        specs,
        addresses,
        frameIoFactory,
        clock,
        new LoadShareDataplane());
  }

  public CarpEngine(
      String node,
      boolean preempt,
      boolean demoteOnLinkDown,
      int maintenanceDemotion,
      List<VhostSpec> specs,
      AddressManager addresses,
      Function<String, FrameIo> frameIoFactory,
      LongSupplier clock,
      LoadShareDataplane dataplane) {
    this.node = node;
    this.dataplane = dataplane;
    this.demoteOnLinkDown = demoteOnLinkDown;
    this.clock = clock;
    this.addresses = addresses;
    this.frameIoFactory = frameIoFactory;
    this.preempt = preempt;
    Map<String, RejectionCounters> counters = new ConcurrentHashMap<>();
    for (VhostSpec s : specs) {
      Link link =
          links.computeIfAbsent(
              s.interfaceName(),
              n -> new Link(n, counters.computeIfAbsent(n, x -> new RejectionCounters())));
      Vhost v = new Vhost(link, s, preempt, ReplayCookie.draw(random));
      link.vhosts.put(s.vhid(), v);
      if (s.share() != null) {
        v.group =
            groups.computeIfAbsent(
                s.interfaceName() + "/" + new VhidOrder(s.share().vhids()).leader(),
                k -> new Group(link, s.share(), s.prefixes()));
        if (!v.group.prefixes.equals(s.prefixes()) || v.group.mode != s.share().mode()) {
          throw new IllegalArgumentException(
              "vhid "
                  + s.vhid()
                  + ": the vhids of a load-shared group need the same addresses and mode");
        }
        v.group.members.put(s.vhid(), v);
      }
    }
    this.rejections =
        counters; // grows when reconfigure adds an interface; read by the metrics callback
    this.metrics = new AgentMetrics(rejections);
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
    listeners.add(listener);
  }

  /**
   * Whether to demote by {@link #STARTUP_DEMOTION} until every vhost runs (FirewallCluster
   * demotion.untilReady, default true). Call before {@link #start}.
   */
  public void demoteUntilReady(boolean on) {
    demoteUntilReady = on;
  }

  private volatile boolean demoteUntilReady = true;

  /**
   * Where this agent records the addresses it adds ({@link AddressRecord}); call before {@link
   * #start}. Without it the record is kept in memory only: nothing left by an earlier run is
   * removed.
   */
  public void recordAddressesIn(AddressRecord record) {
    this.record = record;
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
    refreshLocalAddresses();
    refuseNodeAddresses();
    removeLeftovers();
    // A missing or unusable NIC takes out only its own vhids: the others still run.
    for (Link link : List.copyOf(links.values())) {
      try {
        openLink(link);
      } catch (IOException | RuntimeException e) {
        log.error(
            "cannot use interface {}: {}; its vhids do not run",
            link.name,
            e.getMessage(),
            kv("event", "interface-failed"),
            kv("interface", link.name),
            kv("vhids", link.vhosts.keySet().toString()));
        if (link.io != null) link.io.close();
        links.remove(link.name);
        groups.values().removeIf(g -> g.link == link);
      }
    }
    startLoadSharing();
    for (EngineListener l : listeners) {
      try {
        l.beforeFirstAdvert();
      } catch (RuntimeException e) {
        log.error("start-up listener failed; starting the election anyway", e);
      }
    }
    runOnLoop(
        () -> {
          long now = clock.getAsLong();
          for (Link link : links.values()) {
            for (Vhost v : link.vhosts.values()) {
              v.sm.demotionChanged(now, advertisedDemotion(), false);
              execute(v, link.carrier ? v.sm.start(now) : v.sm.linkDown(now));
            }
          }
          // Ready: every vhost runs. Dropping the start-up demotion announces nothing (only 0 ->
          // positive does).
          applyDemotion(
              demotion.set(DemotionCounters.CARP_GROUP, DemotionCounters.Reason.STARTUP, 0));
        });
    loop.scheduleWithFixedDelay(
        this::pollLinks, LINK_POLL_MILLIS, LINK_POLL_MILLIS, TimeUnit.MILLISECONDS);
    log.info(
        "agent started",
        kv("node", node),
        kv("vhosts", links.values().stream().mapToInt(l -> l.vhosts.size()).sum()));
  }

  /**
   * Opens a NIC for CARP: MAC, stray addresses, validator keys, multicast groups, frame I/O,
   * carrier.
   */
  private void openLink(Link link) throws IOException {
    NetworkInterface nic = NetworkInterface.getByName(link.name);
    if (nic == null)
      throw new IOException("interface " + link.name + " does not exist on this host");
    link.mac = MacAddress.of(nic.getHardwareAddress());
    for (Vhost v : link.vhosts.values()) prepareVhost(v);
    link.validator = new AdvertValidator(link.keys::get, link.counters);
    link.io = frameIoFactory.apply(link.name);
    link.io.start(frame -> onFrame(link, frame));
    link.carrier = Carrier.isUp(link.name);
    refreshSources(link);
  }

  /**
   * Registers a vhost's keys, joins the groups its families need, and removes stray copies of its
   * addresses.
   */
  private void prepareVhost(Vhost v) throws IOException {
    Link link = v.link;
    link.keys.put(v.spec.vhid(), new VhostKeys(v.hmac, v.sm.replayCookie()));
    // Real NICs filter multicast MACs nobody joined: without this, adverts never reach the capture
    // (veth passes them).
    boolean v4 = !v.v4.isEmpty() || v.v6.isEmpty();
    boolean v6 = !v.v6.isEmpty();
    if ((v4 && !link.joinedV4) || (v6 && !link.joinedV6)) {
      link.memberships.add(
          MulticastMembership.join(link.name, v4 && !link.joinedV4, v6 && !link.joinedV6));
      link.joinedV4 |= v4;
      link.joinedV6 |= v6;
    }
    // An address left on the NIC by a crashed agent would answer ARP while another node is master;
    // only ever one
    // this agent added (the record), never one the host had.
    if (v.group == null) for (String p : v.spec.prefixes()) removeRecorded(link.name, p);
  }

  /**
   * Removes an address if this agent added it, then forgets it; an address not in the record stays.
   */
  private void removeRecorded(String ifName, String prefix) throws IOException {
    if (!record.contains(ifName, prefix)) return;
    addresses.remove(ifName, prefix);
    record.remove(ifName, prefix);
  }

  /**
   * At start this agent is master of nothing: every recorded address left by an earlier run (a
   * crash, a killed pod, one no longer configured) comes off, except a load-shared group's, which
   * every node holds while it runs.
   */
  private void removeLeftovers() {
    Set<AddressRecord.Entry> shared = new HashSet<>();
    for (Group g : groups.values())
      for (String p : g.prefixes) shared.add(new AddressRecord.Entry(g.link.name, p));
    for (AddressRecord.Entry e : record.entries()) {
      if (shared.contains(e)) continue;
      try {
        // a vanished interface took its addresses with it
        if (NetworkInterface.getByName(e.interfaceName()) != null)
          addresses.remove(e.interfaceName(), e.cidr());
        record.remove(e.interfaceName(), e.cidr());
        log.info(
            "removed {} from {}: left by an earlier run of the agent",
            e.cidr(),
            e.interfaceName(),
            kv("event", "leftover-removed"),
            kv("interface", e.interfaceName()),
            kv("address", e.cidr()));
      } catch (IOException | RuntimeException ex) {
        log.warn(
            "cannot remove {} from {} (left by an earlier run)",
            e.cidr(),
            e.interfaceName(),
            kv("interface", e.interfaceName()),
            kv("address", e.cidr()),
            kv("error", ex.toString()));
      }
    }
  }

  /**
   * Leaves out (before start) every vhid with an address that is one of the host's own; a group
   * goes whole.
   */
  private void refuseNodeAddresses() {
    List<NodeAddresses.HostAddress> host = hostAddresses();
    Set<AddressRecord.Entry> ours = record.entries();
    for (Link link : List.copyOf(links.values())) {
      for (Vhost v : List.copyOf(link.vhosts.values())) {
        if (link.vhosts.get(v.spec.vhid()) != v) continue; // left out already with its group
        List<NodeAddresses.Conflict> c = NodeAddresses.conflicts(v.spec.prefixes(), host, ours);
        if (c.isEmpty()) continue;
        List<Vhost> out = v.group == null ? List.of(v) : List.copyOf(v.group.members.values());
        for (Vhost r : out) {
          link.vhosts.remove(r.spec.vhid());
          refuse(r.spec, c);
        }
        if (v.group != null) groups.values().remove(v.group);
      }
      if (link.vhosts.isEmpty()) links.remove(link.name);
    }
  }

  private List<NodeAddresses.HostAddress> hostAddresses() {
    try {
      return NodeAddresses.ofHost();
    } catch (SocketException e) {
      log.warn(
          "cannot list the host's addresses to check the virtual addresses against",
          kv("error", e.toString()));
      return List.of();
    }
  }

  private void refuse(VhostSpec spec, List<NodeAddresses.Conflict> conflicts) {
    String what =
        String.join("; ", conflicts.stream().map(NodeAddresses.Conflict::describe).toList());
    String message =
        "vhid "
            + spec.vhid()
            + " on "
            + spec.interfaceName()
            + " is not run: "
            + what
            + ". A virtual address must be an address no node uses as its own: correct the address of the VirtualAddress "
            + "(or the standalone virtualAddresses entry). If an earlier agent version left it behind, remove it with "
            + "'ip addr del' and the vhid starts with the next configuration change or agent restart";
    log.error(
        message,
        kv("event", "vhid-refused"),
        kv("reason", ADDRESS_IS_NODE_ADDRESS),
        kv("node", node),
        kv("interface", spec.interfaceName()),
        kv("vhid", spec.vhid()));
    for (EngineListener l : listeners) {
      try {
        l.vhidRefused(spec.interfaceName(), spec.vhid(), ADDRESS_IS_NODE_ADDRESS, message);
      } catch (RuntimeException e) {
        log.error("refusal listener failed", e);
      }
    }
  }

  /**
   * Applies a new configuration without disturbing what did not change: vhids that are gone or
   * changed bow out and release their addresses, new ones start, unchanged ones keep running
   * untouched (changing one address never makes another fail over). A change of {@code preempt} is
   * applied in place to every vhid, load-shared ones included, without a bow-out (as OpenBSD's
   * sysctl): it takes effect with the next advert heard. Load-shared groups are fixed at start
   * otherwise: changes to them are refused with an exception (restart the agent).
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
                long now = clock.getAsLong();
                if (newPreempt != preempt) {
                  for (Link link : links.values())
                    for (Vhost v : link.vhosts.values()) v.sm.setPreempt(newPreempt);
                  log.info(
                      "preempt {}",
                      newPreempt ? "on" : "off",
                      kv("event", "reconfigure"),
                      kv("preempt", newPreempt));
                }
                preempt = newPreempt;
                Map<String, VhostSpec> wanted = new LinkedHashMap<>();
                for (VhostSpec sp : specs) wanted.put(sp.interfaceName() + "/" + sp.vhid(), sp);
                int removed = 0;
                int added = 0;
                for (Link link : List.copyOf(links.values())) {
                  for (Vhost v : List.copyOf(link.vhosts.values())) {
                    if (v.group != null) continue;
                    VhostSpec next = wanted.get(link.name + "/" + v.spec.vhid());
                    if (next != null && next.equals(v.spec)) {
                      wanted.remove(link.name + "/" + v.spec.vhid());
                      continue;
                    }
                    execute(v, v.sm.shutdown(now)); // bow out, release
                    if (v.timer != null) v.timer.cancel(false);
                    link.vhosts.remove(v.spec.vhid());
                    link.keys.remove(v.spec.vhid());
                    removed++;
                  }
                }
                List<NodeAddresses.HostAddress> host =
                    wanted.isEmpty() ? List.of() : hostAddresses();
                for (VhostSpec sp :
                    wanted.values()) { // a vhid refused before is tried again: its address may be
                  // fixed
                  List<NodeAddresses.Conflict> conflicts =
                      NodeAddresses.conflicts(sp.prefixes(), host, record.entries());
                  if (!conflicts.isEmpty()) {
                    refuse(sp, conflicts);
                    continue;
                  }
                  Link link = links.get(sp.interfaceName());
                  boolean newLink = link == null;
                  if (newLink) {
                    link =
                        new Link(
                            sp.interfaceName(),
                            rejections.computeIfAbsent(
                                sp.interfaceName(), x -> new RejectionCounters()));
                    links.put(sp.interfaceName(), link);
                  }
                  Vhost v = new Vhost(link, sp, preempt, ReplayCookie.draw(random));
                  link.vhosts.put(sp.vhid(), v);
                  try {
                    if (newLink) {
                      openLink(link);
                    } else {
                      prepareVhost(v);
                      refreshSources(
                          link); // the new vhid's addresses must never become the advert source
                    }
                  } catch (IOException e) {
                    link.vhosts.remove(sp.vhid());
                    if (newLink) links.remove(sp.interfaceName());
                    log.error(
                        "cannot start vhid {} on {}: {}",
                        sp.vhid(),
                        sp.interfaceName(),
                        e.getMessage(),
                        kv("event", "reconfigure-failed"),
                        kv("interface", sp.interfaceName()),
                        kv("vhid", sp.vhid()));
                    continue;
                  }
                  v.sm.demotionChanged(now, advertisedDemotion(), false);
                  execute(v, link.carrier ? v.sm.start(now) : v.sm.linkDown(now));
                  added++;
                }
                if (removed + added > 0)
                  log.info(
                      "configuration applied",
                      kv("event", "reconfigure"),
                      kv("stopped", removed),
                      kv("started", added));
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

  /** The vhids this engine runs, as (interface, vhid) keys "eth0/1". */
  public List<String> vhostKeys() {
    try {
      return loop.submit(
              () ->
                  links.values().stream()
                      .flatMap(l -> l.vhosts.keySet().stream().map(v -> l.name + "/" + v))
                      .toList())
          .get(5, TimeUnit.SECONDS);
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

  /** The state of one vhid, read on the loop thread. */
  public CarpState state(String interfaceName, int vhid) {
    try {
      return loop.submit(() -> links.get(interfaceName).vhosts.get(vhid).sm.state())
          .get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot read the state of vhid " + vhid, e);
    }
  }

  // ------------------------------------------------------------------ receive path (receive
  // threads)

  private void onFrame(Link link, byte[] frame) {
    try {
      if (!(FrameParser.parse(frame) instanceof FrameParser.Packet p)) {
        metrics.framesDropped.labelValues("malformed").inc();
        return;
      }
      if (p.protocol() != CarpFrames.IPPROTO_CARP) return;
      if (link.mac != null && p.srcMac().equals(link.mac)) return; // our own announcement frames
      ValidationResult r =
          link.validator.validate(new InboundPacket(p.hopLimit(), p.src(), p.dst(), p.payload()));
      if (r instanceof ValidationResult.Rejected rejected) {
        warnRejected(link, rejected.reason(), p);
      } else if (r instanceof ValidationResult.Accepted a) {
        CarpAdvert advert = a.advert();
        runOnLoop(
            () -> {
              Vhost v = link.vhosts.get(advert.vhid());
              if (v == null) return;
              // The receive thread validated against the keys of that moment; if reconfigure
              // replaced the vhost since
              // (other addresses or password), the advert belongs to the old one and must not steer
              // the new one.
              if (!v.hmac.verify(advert.counter(), advert.digest(), 0)) return;
              metrics.advertsReceived.labelValues(link.name, v.vhidLabel).inc();
              execute(v, v.sm.advertReceived(clock.getAsLong(), advert));
            });
      }
    } catch (RuntimeException e) {
      // Input from the network must never stop the agent: count it and go on.
      metrics.framesDropped.labelValues("error").inc();
      log.debug("frame dropped", e);
    }
  }

  /**
   * What a user should check for each rejection; logged at most every 30 s per interface and
   * reason.
   */
  private static final Map<RejectReason, String> REJECTION_HINTS =
      Map.of(
          RejectReason.BAD_TTL, "TTL/hop limit is not 255: the packet was routed or forged",
          RejectReason.BAD_LENGTH, "truncated CARP packet",
          RejectReason.BAD_CHECKSUM, "corrupted CARP packet (bad checksum)",
          RejectReason.UNKNOWN_VHID,
              "a peer advertises a vhid not configured here (another CARP or VRRP group on this segment)",
          RejectReason.BAD_VERSION, "not CARP version 2 (a VRRPv3 router on this segment?)",
          RejectReason.BAD_AUTH,
              "HMAC mismatch: the peer has another password or another address set for this vhid",
          RejectReason.LOOP,
              "our own advert came back: a network loop or a reflecting switch port");

  private final Map<String, Long> lastRejectionLog = new ConcurrentHashMap<>();

  private void warnRejected(Link link, RejectReason reason, FrameParser.Packet p) {
    long now = System.nanoTime();
    String key = link.name + "/" + reason;
    Long last = lastRejectionLog.get(key);
    if (last != null && now - last < TimeUnit.SECONDS.toNanos(30)) return;
    lastRejectionLog.put(key, now);
    log.warn(
        "advert rejected ({}): {}",
        reason.name().toLowerCase(),
        REJECTION_HINTS.get(reason),
        kv("event", "advert-rejected"),
        kv("interface", link.name),
        kv("reason", reason.name().toLowerCase()),
        kv("source", p.src().getHostAddress()),
        kv("count", link.counters.rejected(reason)));
  }

  // ------------------------------------------------------------------ loop thread

  private void execute(Vhost v, List<CarpAction> actions) {
    for (CarpAction action : actions) {
      switch (action) {
        case CarpAction.SendAdvert s -> sendAdvert(v, s);
        case CarpAction.TakeOverAddresses t -> {
          if (v.group == null) addressWorker.execute(() -> takeOver(v));
          else if (announcesGroup(v)) addressWorker.execute(() -> announceGroup(v.group));
        }
        case CarpAction.Reannounce r -> {
          if (v.group == null) addressWorker.execute(() -> announce(v));
          else if (announcesGroup(v)) addressWorker.execute(() -> announceGroup(v.group));
        }
        case CarpAction.ReleaseAddresses r -> {
          if (v.group == null)
            addressWorker.execute(() -> release(v)); // shared addresses stay while we run
        }
        case CarpAction.StateChanged c -> {
          onStateChanged(v, c);
          if (v.group != null) updateLoadSharing();
        }
      }
    }
    reschedule(v);
  }

  private void reschedule(Vhost v) {
    if (v.timer != null) v.timer.cancel(false);
    v.timer = null;
    if (stopped) return;
    var deadline = v.sm.nextDeadline();
    if (deadline.isPresent()) {
      long delay = Math.max(0, deadline.getAsLong() - clock.getAsLong());
      v.timer =
          loop.schedule(
              () -> {
                try {
                  execute(v, v.sm.tick(clock.getAsLong()));
                } catch (RuntimeException e) {
                  log.error(
                      "timer task failed",
                      e); // the executor would swallow it, and the vhid would stop advertising
                  // unnoticed
                } catch (Error e) {
                  Fatal.exit(
                      "the CARP timer of vhid " + v.spec.vhid(),
                      e); // swallowed too; a broken engine must not hold the VIPs
                  throw e;
                }
              },
              delay,
              TimeUnit.NANOSECONDS);
    }
  }

  private void sendAdvert(Vhost v, CarpAction.SendAdvert s) {
    byte[] carp = s.encode(v.hmac);
    // ip-stealth: the virtual MAC must never be a source, or switches would learn it and stop
    // flooding it.
    MacAddress src =
        v.group != null && v.group.mode == Balancing.IP_STEALTH
            ? v.link.mac
            : MacAddress.virtual(v.spec.vhid());
    try {
      boolean v4 = !v.v4.isEmpty() || v.v6.isEmpty();
      if (v4) {
        Inet4Address from =
            v.link.sourceV4 != null ? v.link.sourceV4 : refreshSources(v.link).sourceV4;
        if (from == null)
          throw new IOException("no IPv4 address on " + v.link.name + " to send adverts from");
        if (v.peers.isEmpty()) {
          v.link.io.send(CarpFrames.ipv4Multicast(src, from, carp));
        } else {
          List<String> unresolved = new ArrayList<>();
          for (Inet4Address peer : v.peers) {
            // In Kubernetes every node gets the same peer list, its own address included: skip
            // ourselves.
            if (localAddresses.contains(peer)) continue;
            MacAddress peerMac = neighbours.lookup(v.link.name, peer);
            if (peerMac == null) {
              unresolved.add(peer.getHostAddress());
              continue;
            } // the others still get theirs
            v.link.io.send(
                CarpFrames.ipv4(
                    src, peerMac, from, peer, ThreadLocalRandom.current().nextInt(0x10000), carp));
          }
          if (!unresolved.isEmpty())
            throw new IOException(
                "the MAC address of peer "
                    + String.join(", ", unresolved)
                    + " is not known yet (resolving)");
        }
      }
      if (!v.v6.isEmpty()) {
        Inet6Address from =
            v.link.linkLocalV6 != null ? v.link.linkLocalV6 : refreshSources(v.link).linkLocalV6;
        if (from == null)
          throw new IOException(
              "no IPv6 link-local address on " + v.link.name + " to send adverts from");
        v.link.io.send(CarpFrames.ipv6Multicast(src, from, carp));
      }
      metrics.advertsSent.labelValues(v.link.name, v.vhidLabel).inc();
    } catch (IOException | RuntimeException e) {
      metrics.sendErrors.labelValues(v.link.name).inc();
      log.warn(
          "cannot send advert",
          kv("interface", v.link.name),
          kv("vhid", v.spec.vhid()),
          kv("error", e.toString()));
    }
  }

  private void onStateChanged(Vhost v, CarpAction.StateChanged c) {
    metrics.vhidState.labelValues(v.link.name, v.vhidLabel).set(c.to().ordinal());
    metrics
        .transitions
        .labelValues(v.link.name, v.vhidLabel, c.from().name(), c.to().name(), c.reason().code())
        .inc();
    log.info(
        "vhid {} {} -> {} ({})",
        v.spec.vhid(),
        c.from(),
        c.to(),
        c.reason().code(),
        kv("event", "state-change"),
        kv("node", node),
        kv("interface", v.link.name),
        kv("vhid", v.spec.vhid()),
        kv("from", c.from().name()),
        kv("to", c.to().name()),
        kv("reason", c.reason().code()));
    if (listeners.isEmpty()) return;
    var change =
        new EngineListener.StateChange(
            node,
            v.link.name,
            v.spec.vhid(),
            c.from(),
            c.to(),
            c.reason().code(),
            v.spec.advskew(),
            v.sm.demotion(),
            Instant.now());
    for (EngineListener l : listeners) {
      try {
        l.stateChanged(change);
      } catch (RuntimeException e) {
        log.error("state-change listener failed", e); // never lets a listener stop the election
      }
    }
  }

  private void pollLinks() {
    long now = clock.getAsLong();
    refreshLocalAddresses();
    for (Link link : links.values()) {
      refreshSources(link);
      boolean up = Carrier.isUp(link.name);
      if (up == link.carrier) continue;
      link.carrier = up;
      log.warn(
          "link {}",
          up ? "up" : "down",
          kv("event", "link"),
          kv("interface", link.name),
          kv("up", up));
      for (Vhost v : link.vhosts.values()) execute(v, up ? v.sm.linkUp(now) : v.sm.linkDown(now));
      if (demoteOnLinkDown)
        applyDemotion(
            demotion.adjust(
                DemotionCounters.CARP_GROUP, DemotionCounters.Reason.LINK_DOWN, up ? -1 : 1));
    }
  }

  private void applyDemotion(DemotionCounters.Change change) {
    int advertised = advertisedDemotion();
    metrics.demotion.set(advertised);
    long now = clock.getAsLong();
    for (Link link : links.values())
      for (Vhost v : link.vhosts.values())
        execute(v, v.sm.demotionChanged(now, advertised, change.announce()));
  }

  private int advertisedDemotion() {
    return demotion.advertised(List.of(DemotionCounters.CARP_GROUP));
  }

  private void runOnLoop(Runnable task) {
    if (stopped) return;
    loop.execute(
        () -> {
          try {
            task.run();
          } catch (RuntimeException e) {
            log.error("engine task failed", e); // the executor would swallow it silently
          } catch (Error e) {
            Fatal.exit(
                "the CARP engine", e); // swallowed too; a broken engine must not hold the VIPs
            throw e;
          }
        });
  }

  // ------------------------------------------------------------------ address worker

  private void takeOver(Vhost v) {
    long t0 = System.nanoTime();
    try {
      for (String p : v.spec.prefixes()) addRecorded(v.link.name, p);
      announce(v);
      metrics.addressChangeSeconds.labelValues("add").observe((System.nanoTime() - t0) / 1e9);
    } catch (IOException | RuntimeException e) {
      metrics.addressChangeErrors.labelValues("add").inc();
      log.error(
          "cannot take over the addresses",
          kv("interface", v.link.name),
          kv("vhid", v.spec.vhid()),
          kv("error", e.toString()));
    }
  }

  /**
   * Records an address, then adds it: a crash in between leaves an entry whose removal is a no-op,
   * never an address the record does not know. If the record cannot be written the address is still
   * added (failing over matters more); this run still knows it, and the error says that a crash now
   * would leave it behind.
   */
  private void addRecorded(String ifName, String prefix) throws IOException {
    try {
      record.add(ifName, prefix);
    } catch (IOException e) {
      metrics.addressChangeErrors.labelValues("record").inc();
      log.error(
          "cannot write the address record {}: after a crash the agent would not remove {} from {}",
          record.file(),
          prefix,
          ifName,
          kv("event", "record-failed"),
          kv("error", e.toString()));
    }
    addresses.add(ifName, prefix);
  }

  /**
   * Frames of each announcement: a small burst, so one lost frame does not leave a stale neighbour
   * cache.
   */
  static final int ANNOUNCE_BURST = 3;

  private void announce(Vhost v) {
    try {
      Inet6Address ll = v.link.linkLocalV6;
      for (int i = 0; i < ANNOUNCE_BURST; i++) {
        for (Inet4Address a : v.v4) v.link.io.send(AnnouncementFrames.gratuitousArp(v.link.mac, a));
        for (Inet6Address a : v.v6)
          v.link.io.send(
              AnnouncementFrames.unsolicitedNa(v.link.mac, ll == null ? a : ll, a, false));
      }
    } catch (RuntimeException e) {
      log.warn(
          "cannot announce the addresses",
          kv("interface", v.link.name),
          kv("vhid", v.spec.vhid()),
          kv("error", e.toString()));
    }
  }

  private void release(Vhost v) {
    long t0 = System.nanoTime();
    try {
      for (String p : v.spec.prefixes()) releaseRecorded(v.link.name, p);
      metrics.addressChangeSeconds.labelValues("remove").observe((System.nanoTime() - t0) / 1e9);
    } catch (IOException | RuntimeException e) {
      metrics.addressChangeErrors.labelValues("remove").inc();
      log.error(
          "cannot release the addresses",
          kv("interface", v.link.name),
          kv("vhid", v.spec.vhid()),
          kv("error", e.toString()));
    }
  }

  /** Removes an address this agent added (never one it did not), then forgets it. */
  private void releaseRecorded(String ifName, String prefix) throws IOException {
    if (!record.contains(ifName, prefix)) {
      // normal when a replaced vhid with the same address removed it first (reconfigure); else
      // someone else's
      log.debug("{} on {} is not in the address record: left in place", prefix, ifName);
      return;
    }
    addresses.remove(ifName, prefix);
    try {
      record.remove(ifName, prefix);
    } catch (IOException e) {
      // the entry stays on disk: its removal at the next start is a no-op
      log.warn("cannot update the address record {}", record.file(), kv("error", e.toString()));
    }
  }

  // ------------------------------------------------------------------ load sharing

  /**
   * Installs the rules (master of nothing yet) and MAC filters, then adds the shared addresses,
   * before any election.
   */
  private void startLoadSharing() throws IOException {
    if (groups.isEmpty()) return;
    Map<Group, Set<Integer>> none = new LinkedHashMap<>();
    for (Group g : groups.values()) {
      none.put(g, Set.of());
      for (MacAddress m : rules(g, Set.of()).receiveMacs()) dataplane.acceptMac(g.link.name, m);
    }
    // Rules first: an address without them would be answered for (ARP) with the NIC's own MAC by
    // every node.
    Duration took =
        dataplane.apply(
            none.entrySet().stream().map(e -> rules(e.getKey(), e.getValue())).toList());
    appliedMasters = none;
    metrics.loadShareUpdateSeconds.observe(took.toNanos() / 1e9);
    for (Group g : groups.values()) for (String p : g.prefixes) addRecorded(g.link.name, p);
    for (Group g : groups.values()) {
      log.info(
          "load sharing {} on {} over vhids {} (rules installed in {} ms)",
          g.mode,
          g.link.name,
          g.members.keySet(),
          took.toMillis(),
          kv("event", "load-share-start"),
          kv("interface", g.link.name),
          kv("balancing", g.mode.configName()));
    }
  }

  /** Loop thread: snapshot which member vhids we master and have the address worker apply it. */
  private void updateLoadSharing() {
    Map<Group, Set<Integer>> wanted = new LinkedHashMap<>();
    for (Group g : groups.values()) wanted.put(g, g.masters());
    wantedMasters = wanted;
    addressWorker.execute(this::applyLoadSharing);
  }

  /**
   * Address worker: applies the latest snapshot only (queued older ones are skipped as already
   * applied).
   */
  private void applyLoadSharing() {
    Map<Group, Set<Integer>> wanted = wantedMasters;
    if (wanted == null || wanted.equals(appliedMasters)) return;
    try {
      Duration took =
          dataplane.apply(
              wanted.entrySet().stream().map(e -> rules(e.getKey(), e.getValue())).toList());
      appliedMasters = wanted;
      metrics.loadShareUpdateSeconds.observe(took.toNanos() / 1e9);
      wanted.forEach(
          (g, masters) ->
              log.info(
                  "load sharing on {}: master of vhids {} of {} (rules updated in {} ms)",
                  g.link.name,
                  masters,
                  g.members.keySet(),
                  took.toMillis(),
                  kv("event", "load-share"),
                  kv("node", node),
                  kv("interface", g.link.name),
                  kv("masters", List.copyOf(masters)),
                  kv("updateMillis", took.toMillis())));
    } catch (IOException | RuntimeException e) {
      metrics.loadShareUpdateErrors.inc();
      log.error(
          "cannot update the load-sharing rules, retrying in 1 s", kv("error", e.getMessage()));
      if (!stopped)
        loop.schedule(
            () -> {
              if (!stopped) addressWorker.execute(this::applyLoadSharing);
            },
            1,
            TimeUnit.SECONDS);
    }
  }

  private LoadShareRules.Group rules(Group g, Set<Integer> masters) {
    Inet4Address own = null;
    try {
      own = g.link.sourceV4 != null ? g.link.sourceV4 : lookUpSourceV4(g.link);
    } catch (SocketException e) {
      log.debug("no own IPv4 address on {}", g.link.name, e);
    }
    return new LoadShareRules.Group(g.link.name, g.mode, g.order, g.v4, masters, own);
  }

  /**
   * In the IP modes the leader's master announces the group MAC (it is the one answering ARP, too).
   */
  private static boolean announcesGroup(Vhost v) {
    return v.group.mode.splitsByAddress() && v.spec.vhid() == v.group.order.leader();
  }

  /**
   * Gratuitous ARP naming the group MAC, sent from the NIC's MAC. ARP mode sends none: it would
   * point every neighbour at one MAC; there the adverts from each vhid's virtual MAC move it in the
   * switches instead.
   */
  private void announceGroup(Group g) {
    applyLoadSharing(); // take our buckets before pulling traffic
    MacAddress groupMac = g.mode.groupMac(g.order.leader());
    try {
      for (Inet4Address a : g.v4)
        g.link.io.send(AnnouncementFrames.gratuitousArp(g.link.mac, groupMac, a));
    } catch (RuntimeException e) {
      log.warn(
          "cannot announce the shared addresses",
          kv("interface", g.link.name),
          kv("error", e.toString()));
    }
  }

  /**
   * After the last election step: addresses off first (the kernel stops answering for them), then
   * rules and MACs.
   */
  private void stopLoadSharing() {
    for (Group g : groups.values()) {
      for (String p : g.prefixes) {
        try {
          releaseRecorded(g.link.name, p);
        } catch (IOException | RuntimeException e) {
          log.warn(
              "cannot remove a shared address",
              kv("interface", g.link.name),
              kv("address", p),
              kv("error", e.toString()));
        }
      }
    }
    try {
      dataplane.clear();
    } catch (IOException e) {
      log.warn("cannot remove the load-sharing rules", kv("error", e.getMessage()));
    }
    for (Group g : groups.values())
      for (MacAddress m : rules(g, Set.of()).receiveMacs()) dataplane.removeMac(g.link.name, m);
  }

  // ------------------------------------------------------------------ interface facts

  /**
   * Looks up the link's advert sources again (a changed host address is picked up within one link
   * poll).
   */
  private Link refreshSources(Link link) {
    try {
      link.sourceV4 = lookUpSourceV4(link);
      link.linkLocalV6 = linkLocalV6(link.name);
    } catch (SocketException e) {
      log.debug("cannot list the addresses of {}", link.name, e);
    }
    return link;
  }

  /**
   * OpenBSD sends adverts from the parent's first address; never from one of our virtual addresses.
   */
  private static Inet4Address lookUpSourceV4(Link link) throws SocketException {
    NetworkInterface nic = NetworkInterface.getByName(link.name);
    if (nic == null) return null;
    Set<InetAddress> virtual = new HashSet<>();
    for (Vhost v : link.vhosts.values()) virtual.addAll(v.v4);
    return nic.inetAddresses()
        .filter(a -> a instanceof Inet4Address && !virtual.contains(a))
        .map(a -> (Inet4Address) a)
        .findFirst()
        .orElse(null);
  }

  /**
   * The host's own addresses (all NICs), refreshed each link poll: unicast peer lists skip these.
   */
  private void refreshLocalAddresses() {
    try {
      Set<InetAddress> all = new HashSet<>();
      NetworkInterface.networkInterfaces().forEach(nic -> nic.inetAddresses().forEach(all::add));
      localAddresses = Set.copyOf(all);
    } catch (SocketException e) {
      log.debug("cannot list the host's addresses", e);
    }
  }

  private static Inet6Address linkLocalV6(String ifname) throws SocketException {
    NetworkInterface nic = NetworkInterface.getByName(ifname);
    if (nic == null) return null;
    return nic.inetAddresses()
        .filter(a -> a instanceof Inet6Address && a.isLinkLocalAddress())
        .map(a -> (Inet6Address) a)
        .findFirst()
        .orElse(null);
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
                for (Link link : links.values())
                  for (Vhost v : link.vhosts.values()) execute(v, v.sm.shutdown(now));
                stopped = true;
                for (Link link : links.values())
                  for (Vhost v : link.vhosts.values()) if (v.timer != null) v.timer.cancel(false);
              })
          .get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("clean shutdown incomplete", e);
    }
    stopped = true;
    loop.shutdownNow();
    addressWorker.shutdown();
    try {
      addressWorker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!groups.isEmpty()) stopLoadSharing();
    for (Link link : links.values()) {
      if (link.io != null) link.io.close();
      try {
        for (MulticastMembership m : link.memberships) m.close();
      } catch (IOException e) {
        log.debug("leaving the multicast groups on {} failed", link.name, e);
      }
    }
    log.info("agent stopped", kv("node", node));
  }
}
