package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.carp.CarpEffect;
import dev.carpoperator.agent.engine.plumbing.UnicastPeers;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.MacAddress;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frames and sends a vhid's adverts (loop thread): IPv4 to 224.0.0.18, or to each unicast peer
 * (OpenBSD carppeer) at the MAC the neighbour table has for it; IPv6 to ff02::12. Sources come from
 * {@link LinkFacts}. A failure is counted and logged, never thrown: the state machine goes on.
 */
final class AdvertSender {
  private static final Logger log = LoggerFactory.getLogger(AdvertSender.class);

  private final LinkFacts facts;
  private final UnicastPeers unicast;
  private final AgentMetrics metrics;

  AdvertSender(LinkFacts facts, UnicastPeers unicast, AgentMetrics metrics) {
    this.facts = facts;
    this.unicast = unicast;
    this.metrics = metrics;
  }

  void send(CarpVhost v, CarpEffect.SendAdvert s) {
    byte[] carp = s.encode(v.hmac);
    // ip-stealth: the virtual MAC must never be a source, or switches would learn it and stop
    // flooding it.
    MacAddress src =
        v.group != null && v.group.mode == Balancing.IP_STEALTH
            ? v.link.mac
            : MacAddress.virtual(v.vhid());
    try {
      if (v.advertisesV4()) sendV4(v, src, carp);
      if (v.advertisesV6()) {
        Inet6Address from = facts.linkLocalV6(v.link);
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
          kv("vhid", v.vhid()),
          kv("error", e.toString()));
    }
  }

  private void sendV4(CarpVhost v, MacAddress src, byte[] carp) throws IOException {
    Inet4Address from = facts.sourceV4(v.link);
    if (from == null)
      throw new IOException("no IPv4 address on " + v.link.name + " to send adverts from");
    if (v.peers.isEmpty()) {
      v.link.io.send(CarpFrames.ipv4Multicast(src, from, carp));
      return;
    }
    List<Inet4Address> unresolved =
        unicast.send(
            v.link.io,
            v.link.name,
            v.peers,
            facts.localAddresses(),
            (peerMac, peer) ->
                CarpFrames.ipv4(
                    src, peerMac, from, peer, ThreadLocalRandom.current().nextInt(0x10000), carp));
    if (!unresolved.isEmpty())
      throw new IOException(
          "the MAC address of peer "
              + String.join(", ", unresolved.stream().map(Inet4Address::getHostAddress).toList())
              + " is not known yet (resolving)");
  }
}
