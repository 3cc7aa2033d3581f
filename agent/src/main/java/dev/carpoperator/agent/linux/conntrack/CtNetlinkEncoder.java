package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.linux.conntrack.CtNetlink.*;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET6;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_ICMP;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_ICMPV6;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_TCP;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_UDP;

import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import java.nio.ByteBuffer;

/**
 * The attributes of a ctnetlink request written straight into a buffer: byte for byte what
 * libnetfilter_conntrack's {@code nfct_nlmsg_build} makes of {@link NfctCodec#build} (the
 * equivalence is a test, over every part and kind of entry), without the 20-odd native calls per
 * entry that building its object costs. Those calls were half of the receiving sync loop's CPU
 * (docs/benchmarks.md). Pure: no I/O, no native memory of its own.
 *
 * <p>TCP, UDP, ICMP and ICMPv6 over IPv4 and IPv6; other entries ({@link #encodes} false) go
 * through the library as before.
 */
final class CtNetlinkEncoder {

  /** The library always adds IPS_CONFIRMED to a status it sends. */
  private static final int IPS_CONFIRMED = ConntrackEntry.IPS_CONFIRMED;

  /** Room one request's attributes may take: IPv6 with both NATs and TCP details is under 400. */
  static final int MAX_ATTRIBUTES_BYTES = 512;

  private CtNetlinkEncoder() {}

  /** Whether {@link #encode} writes this entry (else the library must). */
  static boolean encodes(ConntrackEntry e) {
    return (e.family() == AF_INET || e.family() == AF_INET6)
        && (e.protocol() == PROTO_TCP
            || e.protocol() == PROTO_UDP
            || e.protocol() == PROTO_ICMP
            || e.protocol() == PROTO_ICMPV6)
        && e.zone() >= 0
        && e.zone() <= 0xffff;
  }

  /**
   * Appends {@code part} of {@code e} at {@code b}'s position (after the netlink header and the
   * nfgenmsg); {@code b} must be in native byte order.
   */
  static void encode(ByteBuffer b, ConntrackEntry e, NfctCodec.Part part) {
    boolean v4 = e.family() == AF_INET;
    tuple(b, CTA_TUPLE_ORIG, e, e.original(), v4, false);
    if (part == NfctCodec.Part.ALL) tuple(b, CTA_TUPLE_REPLY, e, e.original().inverted(), v4, true);
    switch (part) {
      case KEY -> {}
      case LIBERAL -> {
        int protoinfo = begin(b, CTA_PROTOINFO);
        int tcp = begin(b, CTA_PROTOINFO_TCP);
        int liberal = ConntrackEntry.TCP_FLAG_BE_LIBERAL;
        flags(b, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, liberal);
        flags(b, CTA_PROTOINFO_TCP_FLAGS_REPLY, liberal);
        end(b, tcp);
        end(b, protoinfo);
      }
      case DYNAMIC_WITHOUT_STATUS, DYNAMIC, ALL -> {
        if (part != NfctCodec.Part.DYNAMIC_WITHOUT_STATUS)
          be32(b, CTA_STATUS, (e.status() & NfctCodec.WRITABLE_STATUS) | IPS_CONFIRMED);
        be32(b, CTA_TIMEOUT, (int) Math.min(e.timeoutSeconds(), 0xffffffffL));
        be32(b, CTA_MARK, e.mark());
        if (e.isTcp()) tcp(b, e);
        if (part == NfctCodec.Part.ALL) nat(b, e, v4);
      }
    }
    if (e.zone() != 0) be16(b, CTA_ZONE, e.zone());
  }

  private static void tuple(
      ByteBuffer b, int type, ConntrackEntry e, Tuple t, boolean v4, boolean reply) {
    int tuple = begin(b, type);
    int ip = begin(b, CTA_TUPLE_IP);
    address(b, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, t.source().getAddress());
    address(b, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, t.destination().getAddress());
    end(b, ip);
    int proto = begin(b, CTA_TUPLE_PROTO);
    u8(b, CTA_PROTO_NUM, e.protocol());
    if (e.protocol() == PROTO_ICMP) {
      // in the original's order: code, type, id; the reply's type is the answer's (as the library)
      u8(b, CTA_PROTO_ICMP_CODE, e.icmpCode());
      u8(b, CTA_PROTO_ICMP_TYPE, reply ? icmpReplyType(e.icmpType()) : e.icmpType());
      be16(b, CTA_PROTO_ICMP_ID, e.original().sourcePort());
    } else if (e.protocol() == PROTO_ICMPV6) {
      u8(b, CTA_PROTO_ICMPV6_CODE, e.icmpCode());
      u8(b, CTA_PROTO_ICMPV6_TYPE, reply ? icmpv6ReplyType(e.icmpType()) : e.icmpType());
      be16(b, CTA_PROTO_ICMPV6_ID, e.original().sourcePort());
    } else {
      be16(b, CTA_PROTO_SRC_PORT, t.sourcePort());
      be16(b, CTA_PROTO_DST_PORT, t.destinationPort());
    }
    end(b, proto);
    end(b, tuple);
  }

  private static void tcp(ByteBuffer b, ConntrackEntry e) {
    int protoinfo = begin(b, CTA_PROTOINFO);
    int tcp = begin(b, CTA_PROTOINFO_TCP);
    if (e.tcpState() >= 0) u8(b, CTA_PROTOINFO_TCP_STATE, e.tcpState());
    flags(b, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, e.tcpFlagsOriginal());
    flags(b, CTA_PROTOINFO_TCP_FLAGS_REPLY, e.tcpFlagsReply());
    u8(b, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, e.wscaleOriginal());
    u8(b, CTA_PROTOINFO_TCP_WSCALE_REPLY, e.wscaleReply());
    end(b, tcp);
    end(b, protoinfo);
  }

  /** As NfctCodec: source NAT to the reply's destination, destination NAT to its source. */
  private static void nat(ByteBuffer b, ConntrackEntry e, boolean v4) {
    Tuple o = e.original();
    Tuple r = e.reply();
    boolean ports = e.protocol() == PROTO_TCP || e.protocol() == PROTO_UDP;
    if (!r.destination().equals(o.source()) || (ports && r.destinationPort() != o.sourcePort()))
      natRange(b, CTA_NAT_SRC, r.destination().getAddress(), v4, ports, r.destinationPort());
    if (!r.source().equals(o.destination()) || (ports && r.sourcePort() != o.destinationPort()))
      natRange(b, CTA_NAT_DST, r.source().getAddress(), v4, ports, r.sourcePort());
  }

  private static void natRange(
      ByteBuffer b, int type, byte[] address, boolean v4, boolean ports, int port) {
    int nat = begin(b, type);
    address(b, v4 ? CTA_NAT_V4_MINIP : CTA_NAT_V6_MINIP, address);
    if (ports) {
      int proto = begin(b, CTA_NAT_PROTO);
      be16(b, CTA_PROTONAT_PORT_MIN, port);
      be16(b, CTA_PROTONAT_PORT_MAX, port);
      end(b, proto);
    }
    end(b, nat);
  }

  /** libnetfilter_conntrack's ICMP answer types; 255 for a type without one. */
  static int icmpReplyType(int type) {
    return switch (type) {
      case 8 -> 0; // echo
      case 0 -> 8;
      case 13 -> 14; // timestamp
      case 14 -> 13;
      case 15 -> 16; // information
      case 16 -> 15;
      case 17 -> 18; // address mask
      case 18 -> 17;
      default -> 255;
    };
  }

  static int icmpv6ReplyType(int type) {
    return switch (type) {
      case 128 -> 129; // echo
      case 129 -> 128;
      case 139 -> 140; // node information
      case 140 -> 139;
      default -> 255;
    };
  }

  // ---- netlink attributes: header in native order, values in network order, padded to 4

  private static int begin(ByteBuffer b, int type) {
    int at = b.position();
    b.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
    return at;
  }

  private static void end(ByteBuffer b, int at) {
    b.putShort(at, (short) (b.position() - at));
  }

  private static void u8(ByteBuffer b, int type, int value) {
    header(b, type, 1);
    b.put((byte) value);
    pad(b);
  }

  private static void be16(ByteBuffer b, int type, int value) {
    header(b, type, 2);
    b.put((byte) (value >>> 8)).put((byte) value);
    pad(b);
  }

  private static void be32(ByteBuffer b, int type, int value) {
    header(b, type, 4);
    b.put((byte) (value >>> 24))
        .put((byte) (value >>> 16))
        .put((byte) (value >>> 8))
        .put((byte) value);
  }

  /** struct nf_ct_tcp_flags: the flags and, as the mask, the flags themselves (as NfctCodec). */
  private static void flags(ByteBuffer b, int type, int flags) {
    header(b, type, 2);
    b.put((byte) flags).put((byte) flags);
    pad(b);
  }

  private static void address(ByteBuffer b, int type, byte[] address) {
    header(b, type, address.length);
    b.put(address);
  }

  private static void header(ByteBuffer b, int type, int payload) {
    b.putShort((short) (4 + payload)).putShort((short) type);
  }

  private static void pad(ByteBuffer b) {
    while ((b.position() & 3) != 0) b.put((byte) 0);
  }
}
