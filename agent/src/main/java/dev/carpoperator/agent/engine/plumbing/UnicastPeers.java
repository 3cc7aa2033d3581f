package dev.carpoperator.agent.engine.plumbing;

import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.agent.net.NeighbourTable;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * The unicast send loop of both engines (CARP's carppeer, the sync's peers): one frame per
 * configured peer, each addressed to the peer's MAC from the kernel's neighbour table. A peer that
 * is one of this host's own addresses is skipped: in Kubernetes (and with a FirewallCluster's
 * shared peer list) every node gets the same list, itself included.
 */
public final class UnicastPeers {
  /** The MAC of a peer on a NIC, or null while unknown (resolving); {@link NeighbourTable}. */
  @FunctionalInterface
  public interface Neighbours {
    MacAddress lookup(String ifName, Inet4Address peer);
  }

  /** The frame for one peer. */
  @FunctionalInterface
  public interface Framer {
    byte[] frame(MacAddress peerMac, Inet4Address peer);
  }

  private final Neighbours neighbours;

  public UnicastPeers(Neighbours neighbours) {
    this.neighbours = neighbours;
  }

  /**
   * Sends a frame to every peer that is not in {@code own}; returns the peers that got none because
   * their MAC is not known yet (resolution has been started; the others got theirs). A failed send
   * throws, as {@link FrameIo#send} does, and the peers after it get nothing.
   */
  public List<Inet4Address> send(
      FrameIo io,
      String ifName,
      Collection<Inet4Address> peers,
      Set<? extends InetAddress> own,
      Framer framer) {
    List<Inet4Address> unresolved = new ArrayList<>();
    for (Inet4Address peer : peers) {
      if (own.contains(peer)) continue;
      MacAddress mac = neighbours.lookup(ifName, peer);
      if (mac == null) {
        unresolved.add(peer);
        continue;
      }
      io.send(framer.frame(mac, peer));
    }
    return unresolved;
  }
}
