package dev.carpoperator.agent.sync;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * One Linux connection-tracking entry, as ctnetlink shows it: the original tuple (direction of the
 * first packet), the reply tuple (the expected reply, after NAT), status bits, remaining timeout
 * and, for TCP, the tracker state. Plain data: the kernel binding ({@code linux.conntrack}) fills
 * it from netlink and writes it back; the sync core maps it to and from pfsync states ({@link
 * StateMapper}).
 *
 * <p>NAT shows as {@code reply != original.inverted()}: with source NAT the reply's destination is
 * the NAT address, with destination NAT the reply's source is the real server.
 *
 * @param family {@link #AF_INET} or {@link #AF_INET6} (Linux values)
 * @param protocol IP protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...
 * @param original tuple of the first packet's direction; for ICMP the ports hold the echo id (both)
 * @param reply tuple of the reply direction
 * @param status {@code IPS_*} bits (e.g. {@link #IPS_SEEN_REPLY}, {@link #IPS_ASSURED}, {@link
 *     #IPS_SRC_NAT})
 * @param timeoutSeconds seconds until the kernel expires the entry
 * @param tcpState Linux {@code enum tcp_conntrack} (1 SYN_SENT ... 3 ESTABLISHED ...), or -1 when
 *     not TCP
 * @param tcpFlagsOriginal {@code IP_CT_TCP_FLAG_*} of the original direction (0 when not TCP)
 * @param tcpFlagsReply {@code IP_CT_TCP_FLAG_*} of the reply direction
 * @param wscaleOriginal TCP window-scale shift seen from the initiator (0 when none or not TCP)
 * @param wscaleReply TCP window-scale shift seen from the responder
 * @param icmpType ICMP type of the original tuple, -1 when not ICMP
 * @param icmpCode ICMP code of the original tuple, -1 when not ICMP
 * @param mark connection mark ({@code ct mark})
 * @param zone conntrack zone (0 = default)
 */
public record ConntrackEntry(
    int family,
    int protocol,
    Tuple original,
    Tuple reply,
    int status,
    long timeoutSeconds,
    int tcpState,
    int tcpFlagsOriginal,
    int tcpFlagsReply,
    int wscaleOriginal,
    int wscaleReply,
    int icmpType,
    int icmpCode,
    int mark,
    int zone) {

  public static final int AF_INET = 2;
  public static final int AF_INET6 = 10;
  public static final int PROTO_ICMP = 1;
  public static final int PROTO_TCP = 6;
  public static final int PROTO_UDP = 17;
  public static final int PROTO_ICMPV6 = 58;

  // include/uapi/linux/netfilter/nf_conntrack_common.h (docs/protocols/conntrack.md §3)
  public static final int IPS_EXPECTED = 1;
  public static final int IPS_SEEN_REPLY = 1 << 1;
  public static final int IPS_ASSURED = 1 << 2;
  public static final int IPS_CONFIRMED = 1 << 3;
  public static final int IPS_SRC_NAT = 1 << 4;
  public static final int IPS_DST_NAT = 1 << 5;
  public static final int IPS_SRC_NAT_DONE = 1 << 7;
  public static final int IPS_DST_NAT_DONE = 1 << 8;

  // enum tcp_conntrack
  public static final int TCP_NONE = 0;
  public static final int TCP_SYN_SENT = 1;
  public static final int TCP_SYN_RECV = 2;
  public static final int TCP_ESTABLISHED = 3;
  public static final int TCP_FIN_WAIT = 4;
  public static final int TCP_CLOSE_WAIT = 5;
  public static final int TCP_LAST_ACK = 6;
  public static final int TCP_TIME_WAIT = 7;
  public static final int TCP_CLOSE = 8;
  public static final int TCP_SYN_SENT2 = 9;

  // IP_CT_TCP_FLAG_*
  public static final int TCP_FLAG_WINDOW_SCALE = 0x01;
  public static final int TCP_FLAG_SACK_PERM = 0x02;
  public static final int TCP_FLAG_CLOSE_INIT = 0x04;
  public static final int TCP_FLAG_BE_LIBERAL = 0x08;

  public ConntrackEntry {
    if (family != AF_INET && family != AF_INET6)
      throw new IllegalArgumentException("family must be 2 or 10: " + family);
    if (protocol < 0 || protocol > 255)
      throw new IllegalArgumentException("protocol out of range: " + protocol);
    Objects.requireNonNull(original, "original");
    Objects.requireNonNull(reply, "reply");
    if (!original.matches(family) || !reply.matches(family))
      throw new IllegalArgumentException("tuple addresses do not match family " + family);
    if (timeoutSeconds < 0) throw new IllegalArgumentException("negative timeout");
  }

  /**
   * The identity the kernel keys entries by (zone, protocol, original tuple); unchanged by updates.
   */
  public Key key() {
    return new Key(zone, protocol, original);
  }

  public boolean isTcp() {
    return protocol == PROTO_TCP;
  }

  public boolean sourceNat() {
    return (status & IPS_SRC_NAT) != 0;
  }

  public boolean destinationNat() {
    return (status & IPS_DST_NAT) != 0;
  }

  /**
   * A copy with other status bits, timeout and TCP state (what ctnetlink lets an update change).
   */
  public ConntrackEntry withDynamic(int newStatus, long newTimeout, int newTcpState) {
    return new ConntrackEntry(
        family,
        protocol,
        original,
        reply,
        newStatus,
        newTimeout,
        newTcpState,
        tcpFlagsOriginal,
        tcpFlagsReply,
        wscaleOriginal,
        wscaleReply,
        icmpType,
        icmpCode,
        mark,
        zone);
  }

  /** A copy with other TCP flags (e.g. BE_LIBERAL set on entries written from a peer's state). */
  public ConntrackEntry withTcpFlags(int original, int reply) {
    return new ConntrackEntry(
        family,
        protocol,
        this.original,
        this.reply,
        status,
        timeoutSeconds,
        tcpState,
        original,
        reply,
        wscaleOriginal,
        wscaleReply,
        icmpType,
        icmpCode,
        mark,
        zone);
  }

  @Override
  public String toString() {
    return "ct["
        + protocol
        + " "
        + original
        + " / "
        + reply
        + (tcpState >= 0 ? " tcp=" + tcpState : "")
        + " status=0x"
        + Integer.toHexString(status)
        + " timeout="
        + timeoutSeconds
        + (zone != 0 ? " zone=" + zone : "")
        + "]";
  }

  /**
   * Source and destination address and port (ports 0 for protocols without ports; the echo id for
   * ICMP).
   */
  public record Tuple(
      InetAddress source, InetAddress destination, int sourcePort, int destinationPort) {
    public Tuple {
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(destination, "destination");
      if ((source instanceof Inet4Address) != (destination instanceof Inet4Address))
        throw new IllegalArgumentException("mixed address families");
      if (sourcePort < 0 || sourcePort > 0xffff || destinationPort < 0 || destinationPort > 0xffff)
        throw new IllegalArgumentException("port out of range");
    }

    public Tuple inverted() {
      return new Tuple(destination, source, destinationPort, sourcePort);
    }

    boolean matches(int family) {
      return family == AF_INET ? source instanceof Inet4Address : source instanceof Inet6Address;
    }

    @Override
    public String toString() {
      return source.getHostAddress()
          + ":"
          + sourcePort
          + ">"
          + destination.getHostAddress()
          + ":"
          + destinationPort;
    }
  }

  /** Kernel identity of an entry. */
  public record Key(int zone, int protocol, Tuple original) {}
}
