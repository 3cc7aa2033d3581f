package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.carp.AdvertValidator;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.carp.ReplayCookie;
import dev.carpoperator.agent.carp.VhostKeys;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.NodeAddresses;
import java.io.Closeable;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The links and vhosts the CARP engine runs: made from the specs, left out when an address is the
 * node's own, opened (MAC, multicast groups, receive pipeline, frame I/O), added and removed by
 * reconfigurations, closed. Loop thread once the engine has started.
 */
final class CarpLinks {
  private static final Logger log = LoggerFactory.getLogger(CarpLinks.class);

  private final Map<String, CarpLink> links = new LinkedHashMap<>();

  /** Grows when a reconfiguration adds an interface; read by the metrics callback. */
  private final Map<String, RejectionCounters> rejections;

  private final LinkFacts facts;
  private final AddressActuator actuator;
  private final LoadShareCoordinator loadSharing;
  private final EngineEvents events;
  private final Function<String, FrameIo> frameIo;
  private final BiConsumer<CarpLink, byte[]> receiver;
  private final SecureRandom random = new SecureRandom();

  /**
   * @param rejections where each link's rejection counters go, by interface (thread-safe)
   * @param receiver where each link's received frames go (a receive thread per link)
   */
  CarpLinks(
      Map<String, RejectionCounters> rejections,
      LinkFacts facts,
      AddressActuator actuator,
      LoadShareCoordinator loadSharing,
      EngineEvents events,
      Function<String, FrameIo> frameIo,
      BiConsumer<CarpLink, byte[]> receiver) {
    this.rejections = rejections;
    this.facts = facts;
    this.actuator = actuator;
    this.loadSharing = loadSharing;
    this.events = events;
    this.frameIo = frameIo;
    this.receiver = receiver;
  }

  Collection<CarpLink> all() {
    return links.values();
  }

  CarpLink get(String interfaceName) {
    return links.get(interfaceName);
  }

  /** Every vhost on every link (a copy). */
  List<CarpVhost> vhosts() {
    List<CarpVhost> all = new ArrayList<>();
    for (CarpLink link : links.values()) all.addAll(link.vhosts.values());
    return all;
  }

  /** Adds a vhost (before start), with its link and its load-shared group. */
  CarpVhost add(VhostSpec s, boolean preempt) {
    CarpLink link = links.computeIfAbsent(s.interfaceName(), this::newLink);
    CarpVhost v = new CarpVhost(link, s, preempt, ReplayCookie.draw(random));
    link.vhosts.put(s.vhid(), v);
    if (s.share() != null) loadSharing.join(v, s.share());
    return v;
  }

  private CarpLink newLink(String name) {
    return new CarpLink(name, rejections.computeIfAbsent(name, x -> new RejectionCounters()));
  }

  /**
   * Leaves out (before start) every vhid with an address that is one of the host's own; a group
   * goes whole.
   */
  void refuseNodeAddresses() {
    List<NodeAddresses.HostAddress> host = facts.hostAddresses();
    Set<AddressRecord.Entry> ours = actuator.recorded();
    for (CarpLink link : List.copyOf(links.values())) {
      for (CarpVhost v : List.copyOf(link.vhosts.values())) {
        if (link.vhosts.get(v.vhid()) != v) continue; // left out already with its group
        List<NodeAddresses.Conflict> c = NodeAddresses.conflicts(v.spec.prefixes(), host, ours);
        if (c.isEmpty()) continue;
        List<CarpVhost> out = v.group == null ? List.of(v) : List.copyOf(v.group.members.values());
        for (CarpVhost r : out) {
          link.vhosts.remove(r.vhid());
          events.refused(r.spec, c);
        }
        if (v.group != null) loadSharing.remove(v.group);
      }
      if (link.vhosts.isEmpty()) links.remove(link.name);
    }
  }

  /** Opens every link; a missing or unusable NIC takes out only its own vhids. */
  void openAll() {
    for (CarpLink link : List.copyOf(links.values())) {
      try {
        open(link);
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
        loadSharing.removeOn(link);
      }
    }
  }

  /**
   * Opens a NIC for CARP: MAC, stray addresses, validator keys, multicast groups, frame I/O,
   * carrier.
   */
  void open(CarpLink link) throws IOException {
    link.mac = facts.mac(link.name);
    for (CarpVhost v : link.vhosts.values()) prepare(v);
    link.pipeline =
        new CarpReceivePipeline(new AdvertValidator(link.keys::get, link.counters), link.mac);
    link.io = frameIo.apply(link.name);
    link.io.start(frame -> receiver.accept(link, frame));
    link.carrier = facts.carrier(link.name);
    facts.refreshSources(link);
  }

  /**
   * Registers a vhost's keys, joins the groups its families need, and removes stray copies of its
   * addresses.
   */
  private void prepare(CarpVhost v) throws IOException {
    v.link.keys.put(v.vhid(), new VhostKeys(v.hmac, v.sm.replayCookie()));
    facts.join(v.link, v.advertisesV4(), v.advertisesV6());
    // An address left on the NIC by a crashed agent would answer ARP while another node is master;
    // only ever one this agent added (the record), never one the host had.
    if (v.group == null) for (String p : v.spec.prefixes()) actuator.removeRecorded(v.link.name, p);
  }

  /**
   * Adds and opens a vhost of a new configuration (its link too, if new). Null if it is not run:
   * refused (an address is one of {@code host}'s own) or its NIC failed (logged).
   */
  CarpVhost addRunning(VhostSpec sp, boolean preempt, List<NodeAddresses.HostAddress> host) {
    List<NodeAddresses.Conflict> conflicts =
        NodeAddresses.conflicts(sp.prefixes(), host, actuator.recorded());
    if (!conflicts.isEmpty()) {
      events.refused(sp, conflicts);
      return null;
    }
    CarpLink link = links.get(sp.interfaceName());
    boolean isNew = link == null;
    if (isNew) {
      link = newLink(sp.interfaceName());
      links.put(sp.interfaceName(), link);
    }
    CarpVhost v = new CarpVhost(link, sp, preempt, ReplayCookie.draw(random));
    link.vhosts.put(sp.vhid(), v);
    try {
      if (isNew) {
        open(link);
      } else {
        prepare(v);
        facts.refreshSources(link); // the new vhid's addresses must never become the advert source
      }
    } catch (IOException e) {
      link.vhosts.remove(sp.vhid());
      if (isNew) links.remove(sp.interfaceName());
      log.error(
          "cannot start vhid {} on {}: {}",
          sp.vhid(),
          sp.interfaceName(),
          e.getMessage(),
          kv("event", "reconfigure-failed"),
          kv("interface", sp.interfaceName()),
          kv("vhid", sp.vhid()));
      return null;
    }
    return v;
  }

  /** Takes a stopped vhost off its link (its adverts are no longer accepted). */
  void remove(CarpVhost v) {
    v.link.vhosts.remove(v.vhid());
    v.link.keys.remove(v.vhid());
  }

  /** Stops the frame I/O and leaves the multicast groups. */
  void close() {
    for (CarpLink link : links.values()) {
      if (link.io != null) link.io.close();
      try {
        for (Closeable m : link.memberships) m.close();
      } catch (IOException e) {
        log.debug("leaving the multicast groups on {} failed", link.name, e);
      }
    }
  }
}
