package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.VhidOrder;
import dev.carpoperator.agent.linux.Balancing;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The vhids sharing one address set on one NIC (OpenBSD carpnodes + balancing). */
final class ShareGroup {
  final CarpLink link;
  final Balancing mode;
  final VhidOrder order;
  final List<String> prefixes;
  final List<Inet4Address> v4 = new ArrayList<>();
  final Map<Integer, CarpVhost> members = new LinkedHashMap<>();

  ShareGroup(CarpLink link, LoadShare share, List<String> prefixes) {
    this.link = link;
    this.mode = share.mode();
    this.order = new VhidOrder(share.vhids());
    this.prefixes = List.copyOf(prefixes);
    for (String p : prefixes)
      if (InetAddress.ofLiteral(p.substring(0, p.indexOf('/'))) instanceof Inet4Address a)
        v4.add(a);
  }

  /** The member vhids this node is MASTER of. Loop thread. */
  Set<Integer> masters() {
    Set<Integer> m = new TreeSet<>();
    members.forEach(
        (vhid, v) -> {
          if (v.sm.state() == CarpState.MASTER) m.add(vhid);
        });
    return m;
  }

  /**
   * In the IP modes the leader's master announces the group MAC (it is the one answering ARP, too).
   */
  boolean announcedBy(CarpVhost v) {
    return mode.splitsByAddress() && v.vhid() == order.leader();
  }
}
