package dev.carpoperator.agent.net;

import java.io.Closeable;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** {@link NicLookup} on this host: {@link NetworkInterface}, sysfs ({@link Carrier}). Stateless. */
public final class SystemNicLookup implements NicLookup {
  public static final SystemNicLookup INSTANCE = new SystemNicLookup();

  private SystemNicLookup() {}

  @Override
  public MacAddress mac(String ifName) throws SocketException {
    NetworkInterface nic = NetworkInterface.getByName(ifName);
    return nic == null ? null : MacAddress.of(nic.getHardwareAddress());
  }

  @Override
  public boolean exists(String ifName) throws SocketException {
    return NetworkInterface.getByName(ifName) != null;
  }

  @Override
  public Inet4Address ipv4Source(String ifName, Set<? extends InetAddress> excluded)
      throws SocketException {
    NetworkInterface nic = NetworkInterface.getByName(ifName);
    if (nic == null) return null;
    return nic.inetAddresses()
        .filter(a -> a instanceof Inet4Address && !excluded.contains(a))
        .map(a -> (Inet4Address) a)
        .findFirst()
        .orElse(null);
  }

  @Override
  public Inet6Address linkLocalV6(String ifName) throws SocketException {
    NetworkInterface nic = NetworkInterface.getByName(ifName);
    if (nic == null) return null;
    return nic.inetAddresses()
        .filter(a -> a instanceof Inet6Address && a.isLinkLocalAddress())
        .map(a -> (Inet6Address) a)
        .findFirst()
        .orElse(null);
  }

  @Override
  public Set<InetAddress> hostAddresses() throws SocketException {
    Set<InetAddress> all = new HashSet<>();
    NetworkInterface.networkInterfaces().forEach(nic -> nic.inetAddresses().forEach(all::add));
    return Set.copyOf(all);
  }

  @Override
  public List<NodeAddresses.HostAddress> hostAddressesWithPrefixes() throws SocketException {
    return NodeAddresses.ofHost();
  }

  @Override
  public boolean carrier(String ifName) {
    return Carrier.isUp(ifName);
  }

  @Override
  public Closeable joinCarpGroups(String ifName, boolean ipv4, boolean ipv6) throws IOException {
    return MulticastMembership.join(ifName, ipv4, ipv6);
  }
}
