package dev.carpoperator.agent.sync;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Conntrack entries for tests, as the kernel would report them for a client behind the firewalls.
 */
public final class Entries {
  private Entries() {}

  public static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** An established TCP connection client:port -> server:80, routed without NAT. */
  public static ConntrackEntry tcp(int clientPort, int tcpState) {
    var orig = new ConntrackEntry.Tuple(ip("198.51.100.10"), ip("203.0.113.10"), clientPort, 80);
    return new ConntrackEntry(
        ConntrackEntry.AF_INET,
        ConntrackEntry.PROTO_TCP,
        orig,
        orig.inverted(),
        ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED | ConntrackEntry.IPS_CONFIRMED,
        432000,
        tcpState,
        ConntrackEntry.TCP_FLAG_WINDOW_SCALE | ConntrackEntry.TCP_FLAG_SACK_PERM,
        ConntrackEntry.TCP_FLAG_WINDOW_SCALE,
        7,
        9,
        -1,
        -1,
        0,
        0);
  }

  /** The same connection source-NATed to 203.0.113.1:natPort. */
  static ConntrackEntry tcpSnat(int clientPort, int natPort) {
    var orig = new ConntrackEntry.Tuple(ip("198.51.100.10"), ip("203.0.113.10"), clientPort, 80);
    var reply = new ConntrackEntry.Tuple(ip("203.0.113.10"), ip("203.0.113.1"), 80, natPort);
    return new ConntrackEntry(
        ConntrackEntry.AF_INET,
        ConntrackEntry.PROTO_TCP,
        orig,
        reply,
        ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED | ConntrackEntry.IPS_SRC_NAT,
        432000,
        ConntrackEntry.TCP_ESTABLISHED,
        0,
        0,
        0,
        0,
        -1,
        -1,
        0,
        0);
  }

  static ConntrackEntry udp(int clientPort, int status, long timeout) {
    var orig = new ConntrackEntry.Tuple(ip("198.51.100.10"), ip("203.0.113.10"), clientPort, 53);
    return new ConntrackEntry(
        ConntrackEntry.AF_INET,
        ConntrackEntry.PROTO_UDP,
        orig,
        orig.inverted(),
        status,
        timeout,
        -1,
        0,
        0,
        0,
        0,
        -1,
        -1,
        0,
        0);
  }

  static ConntrackEntry tcp6(int clientPort) {
    var orig =
        new ConntrackEntry.Tuple(ip("2001:db8:1::10"), ip("2001:db8:2::10"), clientPort, 443);
    return new ConntrackEntry(
        ConntrackEntry.AF_INET6,
        ConntrackEntry.PROTO_TCP,
        orig,
        orig.inverted(),
        ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED,
        300,
        ConntrackEntry.TCP_ESTABLISHED,
        0,
        0,
        0,
        0,
        -1,
        -1,
        0,
        0);
  }
}
