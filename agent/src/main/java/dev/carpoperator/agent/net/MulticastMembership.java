package dev.carpoperator.agent.net;

import java.io.Closeable;
import java.io.IOException;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.nio.channels.MembershipKey;
import java.util.ArrayList;
import java.util.List;

/**
 * Joins 224.0.0.18 and/or ff02::12 on an interface for as long as it is open. pcap only sees what
 * the NIC accepts, and a real NIC's multicast filter drops 01:00:5e:00:00:12 / 33:33:00:00:00:12
 * unless a socket joined the group (veth and bridges don't filter, so lab tests pass without it).
 * The joined IP socket never reads: the kernel has no protocol-112 handler, and it sends no ICMP
 * errors for multicast destinations.
 */
public final class MulticastMembership implements Closeable {
  private final DatagramChannel channel;
  private final List<MembershipKey> keys;

  private MulticastMembership(DatagramChannel channel, List<MembershipKey> keys) {
    this.channel = channel;
    this.keys = keys;
  }

  /**
   * Joins one IPv4 group on the interface (pfsync's 224.0.0.240), so a real NIC's multicast filter
   * lets it in.
   */
  public static MulticastMembership joinV4(String ifName, java.net.Inet4Address group)
      throws IOException {
    NetworkInterface nif = NetworkInterface.getByName(ifName);
    if (nif == null) {
      throw new IOException("interface " + ifName + " does not exist");
    }
    DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
    try {
      return new MulticastMembership(ch, List.of(ch.join(group, nif)));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw new IOException(
          "cannot join " + group.getHostAddress() + " on " + ifName + ": " + e.getMessage(), e);
    }
  }

  public static MulticastMembership join(String ifName, boolean ipv4, boolean ipv6)
      throws IOException {
    NetworkInterface nif = NetworkInterface.getByName(ifName);
    if (nif == null) {
      throw new IOException("interface " + ifName + " does not exist");
    }
    // one IPv6 socket can hold both memberships on Linux
    DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET6);
    List<MembershipKey> keys = new ArrayList<>();
    try {
      if (ipv4) {
        keys.add(ch.join(CarpFrames.CARP_GROUP_V4, nif));
      }
      if (ipv6) {
        keys.add(ch.join(CarpFrames.CARP_GROUP_V6, nif));
      }
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw new IOException("cannot join the CARP groups on " + ifName + ": " + e.getMessage(), e);
    }
    return new MulticastMembership(ch, List.copyOf(keys));
  }

  public List<MembershipKey> keys() {
    return keys;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
