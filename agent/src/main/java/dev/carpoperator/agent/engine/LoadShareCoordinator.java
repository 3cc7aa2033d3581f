package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.carp.VhidOrder;
import dev.carpoperator.agent.linux.LoadSharePlane;
import dev.carpoperator.agent.linux.LoadShareRules;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.AnnouncementFrames;
import dev.carpoperator.agent.net.MacAddress;
import java.io.IOException;
import java.net.Inet4Address;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Load sharing (OpenBSD carpnodes + balancing): several vhids share one address set, each with its
 * own election. Every node keeps the addresses on its NIC while it runs; what follows the elections
 * is the nftables rule set ({@link LoadShareRules}, applied through {@link LoadSharePlane})
 * deciding which traffic and which ARP requests this node takes, rewritten on the address worker
 * after every state change of a member vhid. The groups are fixed at start.
 */
final class LoadShareCoordinator {
  private static final Logger log = LoggerFactory.getLogger(LoadShareCoordinator.class);

  private final String node;
  private final LoadSharePlane plane;
  private final AddressActuator addresses;
  private final LinkFacts facts;
  private final AgentMetrics metrics;
  private final Consumer<Runnable> retryInOneSecond;
  private final BooleanSupplier stopped;
  private final Map<String, ShareGroup> groups = new LinkedHashMap<>();

  /**
   * Latest wanted rule set (written on the loop, applied by the address worker), and what the plane
   * last accepted (address worker).
   */
  private volatile Map<ShareGroup, Set<Integer>> wantedMasters;

  private Map<ShareGroup, Set<Integer>> appliedMasters;

  /**
   * @param retryInOneSecond runs a task on the loop a second from now (after a failed update)
   * @param stopped whether the engine is stopping (no more retries)
   */
  LoadShareCoordinator(
      String node,
      LoadSharePlane plane,
      AddressActuator addresses,
      LinkFacts facts,
      AgentMetrics metrics,
      Consumer<Runnable> retryInOneSecond,
      BooleanSupplier stopped) {
    this.node = node;
    this.plane = plane;
    this.addresses = addresses;
    this.facts = facts;
    this.metrics = metrics;
    this.retryInOneSecond = retryInOneSecond;
    this.stopped = stopped;
  }

  /**
   * Puts {@code v} (a vhid of a load-shared group) in its group, creating the group with its first
   * member. Members of one group need the same addresses and mode.
   */
  void join(CarpVhost v, LoadShare share) {
    v.group =
        groups.computeIfAbsent(
            v.link.name + "/" + new VhidOrder(share.vhids()).leader(),
            k -> new ShareGroup(v.link, share, v.spec.prefixes()));
    if (!v.group.prefixes.equals(v.spec.prefixes()) || v.group.mode != share.mode()) {
      throw new IllegalArgumentException(
          "vhid "
              + v.vhid()
              + ": the vhids of a load-shared group need the same addresses and mode");
    }
    v.group.members.put(v.vhid(), v);
  }

  boolean isEmpty() {
    return groups.isEmpty();
  }

  Collection<ShareGroup> groups() {
    return groups.values();
  }

  /** Drops a group before start (its vhids are not run). */
  void remove(ShareGroup g) {
    groups.values().remove(g);
  }

  /** Drops the groups of a link that could not be opened. */
  void removeOn(CarpLink link) {
    groups.values().removeIf(g -> g.link == link);
  }

  /** The shared addresses: kept on the NICs while the agent runs, never leftovers. */
  Set<AddressRecord.Entry> sharedAddresses() {
    Set<AddressRecord.Entry> shared = new HashSet<>();
    for (ShareGroup g : groups.values())
      for (String p : g.prefixes) shared.add(new AddressRecord.Entry(g.link.name, p));
    return shared;
  }

  /**
   * Installs the rules (master of nothing yet) and MAC filters, then adds the shared addresses,
   * before any election.
   */
  void start() throws IOException {
    if (groups.isEmpty()) return;
    Map<ShareGroup, Set<Integer>> none = new LinkedHashMap<>();
    for (ShareGroup g : groups.values()) {
      none.put(g, Set.of());
      for (MacAddress m : rules(g, Set.of()).receiveMacs()) plane.acceptMac(g.link.name, m);
    }
    // Rules first: an address without them would be answered for (ARP) with the NIC's own MAC by
    // every node.
    Duration took = plane.apply(rules(none));
    appliedMasters = none;
    metrics.loadShareUpdateSeconds.observe(took.toNanos() / 1e9);
    for (ShareGroup g : groups.values())
      for (String p : g.prefixes) addresses.addRecorded(g.link.name, p);
    for (ShareGroup g : groups.values()) {
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
  void update() {
    Map<ShareGroup, Set<Integer>> wanted = new LinkedHashMap<>();
    for (ShareGroup g : groups.values()) wanted.put(g, g.masters());
    wantedMasters = wanted;
    addresses.execute(this::apply);
  }

  /**
   * Address worker: applies the latest snapshot only (queued older ones are skipped as already
   * applied).
   */
  void apply() {
    Map<ShareGroup, Set<Integer>> wanted = wantedMasters;
    if (wanted == null || wanted.equals(appliedMasters)) return;
    try {
      Duration took = plane.apply(rules(wanted));
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
      if (!stopped.getAsBoolean())
        retryInOneSecond.accept(
            () -> {
              if (!stopped.getAsBoolean()) addresses.execute(this::apply);
            });
    }
  }

  /**
   * Address worker, when the leader of an IP-mode group becomes master: takes our buckets first,
   * then a gratuitous ARP naming the group MAC, sent from the NIC's MAC. ARP mode sends none: it
   * would point every neighbour at one MAC; there the adverts from each vhid's virtual MAC move it
   * in the switches instead.
   */
  void announce(ShareGroup g) {
    apply(); // take our buckets before pulling traffic
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
  void stop() {
    for (ShareGroup g : groups.values()) {
      for (String p : g.prefixes) {
        try {
          addresses.releaseRecorded(g.link.name, p);
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
      plane.clear();
    } catch (IOException e) {
      log.warn("cannot remove the load-sharing rules", kv("error", e.getMessage()));
    }
    for (ShareGroup g : groups.values())
      for (MacAddress m : rules(g, Set.of()).receiveMacs()) plane.removeMac(g.link.name, m);
  }

  private List<LoadShareRules.Group> rules(Map<ShareGroup, Set<Integer>> masters) {
    return masters.entrySet().stream().map(e -> rules(e.getKey(), e.getValue())).toList();
  }

  private LoadShareRules.Group rules(ShareGroup g, Set<Integer> masters) {
    return new LoadShareRules.Group(
        g.link.name, g.mode, g.order, g.v4, masters, facts.ownV4(g.link));
  }
}
