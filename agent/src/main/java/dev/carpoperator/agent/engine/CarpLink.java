package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.carp.VhostKeys;
import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.MacAddress;
import java.io.Closeable;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One NIC as the CARP engine runs it: frame I/O, the receive pipeline, and the vhosts on it. Owned
 * by the engine's loop thread except where a field says otherwise.
 */
final class CarpLink {
  final String name;
  final Map<Integer, CarpVhost> vhosts = new LinkedHashMap<>();

  /** What the receive pipeline checks adverts against; updated when vhids come and go. */
  final Map<Integer, VhostKeys> keys = new ConcurrentHashMap<>();

  final RejectionCounters counters;

  /** Set when the link opens, before its frames are received. */
  CarpReceivePipeline pipeline;

  FrameIo io;
  final List<Closeable> memberships = new ArrayList<>();
  boolean joinedV4;
  boolean joinedV6;
  MacAddress mac;
  boolean carrier = true;

  /**
   * Where adverts go from, looked up when the link opens and at each link poll, not per advert: a
   * lookup lists the NIC's addresses, and with 255 vhids (255 adverts/s, each checked against every
   * virtual address) that cost a master a fifth of a core at idle. Volatile: the load-sharing rules
   * read the IPv4 one on the address worker, announcements the IPv6 one.
   */
  volatile Inet4Address sourceV4;

  volatile Inet6Address linkLocalV6;

  CarpLink(String name, RejectionCounters counters) {
    this.name = name;
    this.counters = counters;
  }

  /** The IPv4 virtual addresses of the vhosts on this link: never an advert source. */
  Set<Inet4Address> virtualV4() {
    Set<Inet4Address> virtual = new HashSet<>();
    for (CarpVhost v : vhosts.values()) virtual.addAll(v.v4);
    return virtual;
  }
}
