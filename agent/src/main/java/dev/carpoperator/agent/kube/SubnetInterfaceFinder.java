package dev.carpoperator.agent.kube;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Optional;

/**
 * Picks the interface that has an address in the same subnet as a virtual address, as OpenBSD does
 * without carpdev.
 */
public final class SubnetInterfaceFinder implements KubePlan.InterfaceFinder {
  @Override
  public Optional<String> forPrefix(String cidr) {
    int slash = cidr.indexOf('/');
    InetAddress vip = InetAddress.ofLiteral(cidr.substring(0, slash));
    int vipLength = Integer.parseInt(cidr.substring(slash + 1));
    try {
      for (NetworkInterface nic : NetworkInterface.networkInterfaces().toList()) {
        if (nic.isLoopback()) continue;
        for (InterfaceAddress a : nic.getInterfaceAddresses()) {
          if (a.getAddress().getClass() != vip.getClass() || a.getAddress().equals(vip)) continue;
          int len = Math.min(vipLength, a.getNetworkPrefixLength());
          if (samePrefix(a.getAddress(), vip, len)) return Optional.of(nic.getName());
        }
      }
    } catch (SocketException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  static boolean samePrefix(InetAddress a, InetAddress b, int length) {
    int bits = a.getAddress().length * 8;
    BigInteger mask =
        BigInteger.ONE
            .shiftLeft(bits)
            .subtract(BigInteger.ONE)
            .shiftRight(bits - length)
            .shiftLeft(bits - length);
    return new BigInteger(1, a.getAddress())
        .and(mask)
        .equals(new BigInteger(1, b.getAddress()).and(mask));
  }
}
