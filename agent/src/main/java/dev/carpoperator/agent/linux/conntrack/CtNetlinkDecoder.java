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
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A ctnetlink conntrack message (an event or a dumped entry) read straight from its bytes into a
 * {@link ConntrackEntry}: what {@link NfctCodec#toEntry} reads from libnetfilter_conntrack's object
 * after the library parsed the same message (the equivalence is a test), without its 20-odd native
 * calls per entry, which were most of the event thread's CPU (docs/benchmarks.md). Pure: no I/O.
 * Attributes it does not use (counters, ids, labels, ...) are skipped; a malformed message gives
 * null, as an entry the codec cannot read does.
 */
final class CtNetlinkDecoder {

  /** Protocols whose tuples carry ports (TCP, UDP, DCCP, SCTP, UDP-Lite), as in NfctCodec. */
  private static boolean hasPorts(int protocol) {
    return protocol == PROTO_TCP
        || protocol == PROTO_UDP
        || protocol == 33
        || protocol == 132
        || protocol == 136;
  }

  private CtNetlinkDecoder() {}

  /** One tuple's fields as the message has them; absent ones stay null or 0. */
  private static final class TupleFields {
    byte[] source;
    byte[] destination;
    int protocol;
    int sourcePort;
    int destinationPort;
    int icmpId;
    int icmpType;
    int icmpCode;
  }

  /**
   * The entry of the netlink message at {@code m}'s position (its nlmsghdr first), or null when it
   * is of a family the agent does not handle or lacks a tuple address.
   */
  static ConntrackEntry decode(ByteBuffer m) {
    ByteBuffer b = m.duplicate().order(ByteOrder.nativeOrder());
    int start = b.position();
    if (b.remaining() < NLMSG_HDRLEN + NFGENMSG_LEN) return null;
    int length = b.getInt(start);
    if (length < NLMSG_HDRLEN + NFGENMSG_LEN || length > b.remaining()) return null;
    int family = b.get(start + NLMSG_HDRLEN) & 0xff;
    if (family != AF_INET && family != AF_INET6) return null;
    TupleFields orig = null;
    TupleFields reply = null;
    long status = 0;
    long timeout = 0;
    int mark = 0;
    int zone = 0;
    int tcpState = -1;
    int flagsOriginal = 0;
    int flagsReply = 0;
    int wscaleOriginal = 0;
    int wscaleReply = 0;
    int end = start + length;
    for (int a = start + NLMSG_HDRLEN + NFGENMSG_LEN; a + 4 <= end; ) {
      int len = b.getShort(a) & 0xffff;
      int type = b.getShort(a + 2) & 0x3fff; // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
      if (len < 4 || a + len > end) return null;
      int p = a + 4;
      int pEnd = a + len;
      switch (type) {
        case CTA_TUPLE_ORIG -> orig = tuple(b, p, pEnd);
        case CTA_TUPLE_REPLY -> reply = tuple(b, p, pEnd);
        case CTA_STATUS -> status = be32(b, p, pEnd);
        case CTA_TIMEOUT -> timeout = be32(b, p, pEnd);
        case CTA_MARK -> mark = (int) be32(b, p, pEnd);
        case CTA_ZONE -> zone = be16(b, p, pEnd);
        case CTA_PROTOINFO -> {
          for (int q = p; q + 4 <= pEnd; q = next(b, q)) {
            int qLen = b.getShort(q) & 0xffff;
            if (qLen < 4 || q + qLen > pEnd) break;
            if ((b.getShort(q + 2) & 0x3fff) != CTA_PROTOINFO_TCP) continue;
            int qEnd = q + qLen;
            for (int t = q + 4; t + 4 <= qEnd; t = next(b, t)) {
              int tLen = b.getShort(t) & 0xffff;
              if (tLen < 4 || t + tLen > qEnd) break;
              if (tLen < 5) continue;
              int v = t + 4;
              switch (b.getShort(t + 2) & 0x3fff) {
                case CTA_PROTOINFO_TCP_STATE -> tcpState = b.get(v) & 0xff;
                case CTA_PROTOINFO_TCP_WSCALE_ORIGINAL -> wscaleOriginal = b.get(v) & 0xff;
                case CTA_PROTOINFO_TCP_WSCALE_REPLY -> wscaleReply = b.get(v) & 0xff;
                case CTA_PROTOINFO_TCP_FLAGS_ORIGINAL -> flagsOriginal = b.get(v) & 0xff;
                case CTA_PROTOINFO_TCP_FLAGS_REPLY -> flagsReply = b.get(v) & 0xff;
                default -> {}
              }
            }
          }
        }
        default -> {}
      }
      a += (len + 3) & ~3;
    }
    if (orig == null || reply == null) return null;
    int addressLength = family == AF_INET ? 4 : 16;
    if (!sized(orig, addressLength) || !sized(reply, addressLength)) return null;
    int protocol = orig.protocol;
    Tuple original;
    Tuple replyTuple;
    int icmpType = -1;
    int icmpCode = -1;
    try {
      InetAddress os = InetAddress.getByAddress(orig.source);
      InetAddress od = InetAddress.getByAddress(orig.destination);
      InetAddress rs = InetAddress.getByAddress(reply.source);
      InetAddress rd = InetAddress.getByAddress(reply.destination);
      if (protocol == PROTO_ICMP || protocol == PROTO_ICMPV6) {
        int id = orig.icmpId; // the original direction's echo id, in both ports of both tuples
        original = new Tuple(os, od, id, id);
        replyTuple = new Tuple(rs, rd, id, id);
        icmpType = orig.icmpType;
        icmpCode = orig.icmpCode;
      } else if (hasPorts(protocol)) {
        original = new Tuple(os, od, orig.sourcePort, orig.destinationPort);
        replyTuple = new Tuple(rs, rd, reply.sourcePort, reply.destinationPort);
      } else {
        original = new Tuple(os, od, 0, 0);
        replyTuple = new Tuple(rs, rd, 0, 0);
      }
    } catch (UnknownHostException e) {
      return null; // not reached: the lengths are checked
    }
    boolean tcp = protocol == PROTO_TCP;
    return new ConntrackEntry(
        family,
        protocol,
        original,
        replyTuple,
        (int) status,
        timeout,
        tcp ? tcpState : -1,
        tcp ? flagsOriginal : 0,
        tcp ? flagsReply : 0,
        tcp ? wscaleOriginal : 0,
        tcp ? wscaleReply : 0,
        icmpType,
        icmpCode,
        mark,
        zone);
  }

  private static boolean sized(TupleFields t, int addressLength) {
    return t.source != null
        && t.destination != null
        && t.source.length == addressLength
        && t.destination.length == addressLength;
  }

  private static TupleFields tuple(ByteBuffer b, int from, int to) {
    TupleFields t = new TupleFields();
    for (int a = from; a + 4 <= to; a = next(b, a)) {
      int len = b.getShort(a) & 0xffff;
      int aEnd = a + len;
      if (len < 4 || aEnd > to) break;
      switch (b.getShort(a + 2) & 0x3fff) {
        case CTA_TUPLE_IP -> {
          for (int q = a + 4; q + 4 <= aEnd; q = next(b, q)) {
            int ql = (b.getShort(q) & 0xffff) - 4;
            if (ql < 0 || q + 4 + ql > aEnd) break;
            if (ql == 0) continue;
            byte[] address = new byte[ql];
            b.get(q + 4, address);
            switch (b.getShort(q + 2) & 0x3fff) {
              case CTA_IP_V4_SRC, CTA_IP_V6_SRC -> t.source = address;
              case CTA_IP_V4_DST, CTA_IP_V6_DST -> t.destination = address;
              default -> {}
            }
          }
        }
        case CTA_TUPLE_PROTO -> {
          for (int q = a + 4; q + 4 <= aEnd; q = next(b, q)) {
            int ql = (b.getShort(q) & 0xffff) - 4;
            if (ql < 0 || q + 4 + ql > aEnd) break;
            if (ql == 0) continue;
            int v = q + 4;
            switch (b.getShort(q + 2) & 0x3fff) {
              case CTA_PROTO_NUM -> t.protocol = b.get(v) & 0xff;
              case CTA_PROTO_SRC_PORT -> t.sourcePort = ql >= 2 ? be16(b, v, v + 2) : 0;
              case CTA_PROTO_DST_PORT -> t.destinationPort = ql >= 2 ? be16(b, v, v + 2) : 0;
              case CTA_PROTO_ICMP_ID, CTA_PROTO_ICMPV6_ID ->
                  t.icmpId = ql >= 2 ? be16(b, v, v + 2) : 0;
              case CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMPV6_TYPE -> t.icmpType = b.get(v) & 0xff;
              case CTA_PROTO_ICMP_CODE, CTA_PROTO_ICMPV6_CODE -> t.icmpCode = b.get(v) & 0xff;
              default -> {}
            }
          }
        }
        default -> {}
      }
    }
    return t;
  }

  private static int next(ByteBuffer b, int a) {
    int len = b.getShort(a) & 0xffff;
    return a + Math.max(4, (len + 3) & ~3);
  }

  private static int be16(ByteBuffer b, int p, int end) {
    return end - p < 2 ? 0 : ((b.get(p) & 0xff) << 8) | (b.get(p + 1) & 0xff);
  }

  private static long be32(ByteBuffer b, int p, int end) {
    if (end - p < 4) return 0;
    return ((long) (b.get(p) & 0xff) << 24)
        | ((b.get(p + 1) & 0xff) << 16)
        | ((b.get(p + 2) & 0xff) << 8)
        | (b.get(p + 3) & 0xff);
  }
}
