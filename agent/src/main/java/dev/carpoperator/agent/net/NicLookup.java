package dev.carpoperator.agent.net;

import java.io.Closeable;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.SocketException;
import java.util.List;
import java.util.Set;

/**
 * What the engines look up about the host's NICs, and the one thing they ask of a NIC besides
 * frames (joining the CARP multicast groups). A port: {@link SystemNicLookup} asks the kernel;
 * tests describe a host instead.
 */
public interface NicLookup {
  /** The NIC's hardware address, or null if there is no NIC of that name. */
  MacAddress mac(String ifName) throws SocketException;

  /** Whether a NIC of that name exists. */
  default boolean exists(String ifName) throws SocketException {
    return mac(ifName) != null;
  }

  /**
   * The NIC's first IPv4 address that is not in {@code excluded} (our virtual addresses), or null
   * if it has none or does not exist: where adverts and sync packets go from.
   */
  Inet4Address ipv4Source(String ifName, Set<? extends InetAddress> excluded)
      throws SocketException;

  /** The NIC's first IPv6 link-local address, or null. */
  Inet6Address linkLocalV6(String ifName) throws SocketException;

  /** Every address on every NIC of this host (network namespace). */
  Set<InetAddress> hostAddresses() throws SocketException;

  /** Every address on every NIC with its interface and prefix length ({@link NodeAddresses}). */
  List<NodeAddresses.HostAddress> hostAddressesWithPrefixes() throws SocketException;

  /** Whether the NIC has carrier (false if it does not exist or is administratively down). */
  boolean carrier(String ifName);

  /**
   * Joins 224.0.0.18 and/or ff02::12 on the NIC until the result is closed ({@link
   * MulticastMembership}).
   */
  Closeable joinCarpGroups(String ifName, boolean ipv4, boolean ipv6) throws IOException;
}
