package dev.carpoperator.agent.net;

import java.net.InetAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Whether a virtual address is one of the host's own addresses. A vhid whose address is the node's
 * IP (a typo in the VirtualAddress) must not run: as backup it would never add it, and as master it
 * would take it off the node when it releases. The host's own addresses are those on any interface
 * that this agent did not add ({@link AddressRecord}). {@link #conflicts} is pure; {@link #ofHost}
 * reads the interfaces of the agent's network namespace.
 */
public final class NodeAddresses {
  private NodeAddresses() {}

  /** An address on one of the host's interfaces. */
  public record HostAddress(String interfaceName, InetAddress address, int prefixLength) {
    public String cidr() {
      return AddressManager.text(address) + "/" + prefixLength;
    }
  }

  /** A configured prefix that is a host's own address. */
  public record Conflict(String prefix, HostAddress own) {
    public String describe() {
      return prefix + " is this node's own address " + own.cidr() + " on " + own.interfaceName();
    }
  }

  /**
   * The configured {@code prefixes} whose address (whatever its prefix length) is on one of the
   * host's interfaces and is not an address this agent added ({@code record}: the exact interface
   * and CIDR).
   */
  public static List<Conflict> conflicts(
      Collection<String> prefixes, Collection<HostAddress> host, Set<AddressRecord.Entry> record) {
    List<Conflict> out = new ArrayList<>();
    for (String p : prefixes) {
      byte[] wanted = bytes(p);
      for (HostAddress h : host) {
        if (!Arrays.equals(wanted, h.address().getAddress())) continue;
        if (record.contains(new AddressRecord.Entry(h.interfaceName(), h.cidr()))) continue;
        out.add(new Conflict(p, h));
        break;
      }
    }
    return out;
  }

  private static byte[] bytes(String prefix) {
    String s = prefix.strip();
    int slash = s.indexOf('/');
    return InetAddress.ofLiteral(slash < 0 ? s : s.substring(0, slash)).getAddress();
  }

  /** Every address on every interface of this network namespace, with its prefix length. */
  public static List<HostAddress> ofHost() throws SocketException {
    List<HostAddress> out = new ArrayList<>();
    for (NetworkInterface nic : NetworkInterface.networkInterfaces().toList()) {
      for (InterfaceAddress ia : nic.getInterfaceAddresses()) {
        if (ia.getAddress() == null) continue;
        // without the scope (fe80::1%eth0): the record and the configuration hold plain literals
        InetAddress plain;
        try {
          plain = InetAddress.getByAddress(ia.getAddress().getAddress());
        } catch (java.net.UnknownHostException e) {
          continue; // not reached: the length is 4 or 16
        }
        out.add(new HostAddress(nic.getName(), plain, ia.getNetworkPrefixLength()));
      }
    }
    return out;
  }
}
