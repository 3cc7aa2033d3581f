package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.agent.net.NicLookup;
import dev.carpoperator.agent.net.NodeAddresses;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the CARP engine knows about the NICs, through {@link NicLookup}: each link's MAC, advert
 * sources (the first IPv4 address that is not a virtual one, the IPv6 link-local one) and carrier,
 * the host's own addresses (unicast peer lists skip them), and the link poll that refreshes them.
 */
final class LinkFacts {
  private static final Logger log = LoggerFactory.getLogger(LinkFacts.class);

  private final NicLookup nics;

  /**
   * This host's addresses as of the last poll (a Kubernetes peer list includes the node's own
   * address). Read by the loop thread.
   */
  private volatile Set<InetAddress> localAddresses = Set.of();

  LinkFacts(NicLookup nics) {
    this.nics = nics;
  }

  /** The NIC's MAC; an exception if the NIC does not exist. */
  MacAddress mac(String ifName) throws IOException {
    MacAddress mac = nics.mac(ifName);
    if (mac == null) throw new IOException("interface " + ifName + " does not exist on this host");
    return mac;
  }

  boolean exists(String ifName) throws SocketException {
    return nics.exists(ifName);
  }

  boolean carrier(String ifName) {
    return nics.carrier(ifName);
  }

  /**
   * Joins the CARP groups a vhid's families need, once per link. Real NICs filter multicast MACs
   * nobody joined: without this, adverts never reach the capture (veth passes them).
   */
  void join(CarpLink link, boolean v4, boolean v6) throws IOException {
    boolean joinV4 = v4 && !link.joinedV4;
    boolean joinV6 = v6 && !link.joinedV6;
    if (!joinV4 && !joinV6) return;
    link.memberships.add(nics.joinCarpGroups(link.name, joinV4, joinV6));
    link.joinedV4 |= v4;
    link.joinedV6 |= v6;
  }

  Set<InetAddress> localAddresses() {
    return localAddresses;
  }

  /** Lists the host's own addresses (all NICs) again. */
  void refreshLocalAddresses() {
    try {
      localAddresses = Set.copyOf(nics.hostAddresses());
    } catch (SocketException e) {
      log.debug("cannot list the host's addresses", e);
    }
  }

  /**
   * The host's addresses with prefixes, to check virtual addresses against; none if they cannot be
   * listed.
   */
  List<NodeAddresses.HostAddress> hostAddresses() {
    try {
      return nics.hostAddressesWithPrefixes();
    } catch (SocketException e) {
      log.warn(
          "cannot list the host's addresses to check the virtual addresses against",
          kv("error", e.toString()));
      return List.of();
    }
  }

  /**
   * Looks up the link's advert sources again (a changed host address is picked up within one link
   * poll).
   */
  CarpLink refreshSources(CarpLink link) {
    try {
      link.sourceV4 = lookUpSourceV4(link);
      link.linkLocalV6 = nics.linkLocalV6(link.name);
    } catch (SocketException e) {
      log.debug("cannot list the addresses of {}", link.name, e);
    }
    return link;
  }

  /** Where IPv4 adverts go from: the cached source, else a fresh lookup (null if none). */
  Inet4Address sourceV4(CarpLink link) {
    return link.sourceV4 != null ? link.sourceV4 : refreshSources(link).sourceV4;
  }

  /** Where IPv6 adverts go from: the cached link-local address, else a fresh lookup. */
  Inet6Address linkLocalV6(CarpLink link) {
    return link.linkLocalV6 != null ? link.linkLocalV6 : refreshSources(link).linkLocalV6;
  }

  /**
   * The node's own IPv4 address on the link for the load-sharing rules (address worker): the cached
   * source, else a lookup that changes nothing; null if there is none.
   */
  Inet4Address ownV4(CarpLink link) {
    try {
      return link.sourceV4 != null ? link.sourceV4 : lookUpSourceV4(link);
    } catch (SocketException e) {
      log.debug("no own IPv4 address on {}", link.name, e);
      return null;
    }
  }

  /**
   * The link poll: the host's addresses and every link's sources again, and carrier. Returns the
   * links whose carrier changed ({@link CarpLink#carrier} is updated, the change logged).
   */
  List<CarpLink> poll(Collection<CarpLink> links) {
    refreshLocalAddresses();
    List<CarpLink> changed = new ArrayList<>();
    for (CarpLink link : links) {
      refreshSources(link);
      boolean up = nics.carrier(link.name);
      if (up == link.carrier) continue;
      link.carrier = up;
      log.warn(
          "link {}",
          up ? "up" : "down",
          kv("event", "link"),
          kv("interface", link.name),
          kv("up", up));
      changed.add(link);
    }
    return changed;
  }

  /**
   * OpenBSD sends adverts from the parent's first address; never from one of our virtual addresses.
   */
  private Inet4Address lookUpSourceV4(CarpLink link) throws SocketException {
    return nics.ipv4Source(link.name, link.virtualV4());
  }
}
