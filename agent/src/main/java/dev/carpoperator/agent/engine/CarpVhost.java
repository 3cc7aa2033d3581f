package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.carp.CarpHmac;
import dev.carpoperator.agent.carp.CarpStateMachine;
import dev.carpoperator.agent.carp.VhostConfig;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;

/** One vhid on one link: its spec, state machine, HMAC and addresses. Loop thread. */
final class CarpVhost {
  final CarpLink link;
  final VhostSpec spec;
  final CarpStateMachine sm;
  final CarpHmac hmac;
  final List<Inet4Address> v4 = new ArrayList<>();
  final List<Inet6Address> v6 = new ArrayList<>();
  final List<Inet4Address> peers = new ArrayList<>();
  final String vhidLabel;

  /** The load-shared group this vhid is a member of, or null. */
  ShareGroup group;

  ScheduledFuture<?> timer;

  CarpVhost(CarpLink link, VhostSpec spec, boolean preempt, long cookie) {
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

  int vhid() {
    return spec.vhid();
  }

  /** Adverts go over IPv4 when the vhid has an IPv4 address, or no address at all. */
  boolean advertisesV4() {
    return !v4.isEmpty() || v6.isEmpty();
  }

  boolean advertisesV6() {
    return !v6.isEmpty();
  }
}
