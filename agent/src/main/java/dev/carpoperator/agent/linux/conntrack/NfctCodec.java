package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.linux.conntrack.NfConntrack.*;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET6;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_ASSURED;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_SEEN_REPLY;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_ICMP;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_ICMPV6;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_TCP;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_UDP;

import com.sun.jna.Pointer;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Set;

/**
 * Between {@link ConntrackEntry} and libnetfilter_conntrack's {@code struct nf_conntrack}: builds
 * the object of a request (the key, what an update may change, or everything with the NAT ranges)
 * and reads a dumped entry or an event. On the event thread's hot path: it allocates only the entry
 * it returns. Thread-safe (no state of its own).
 */
final class NfctCodec {
  /**
   * The status bits we write. On kernel 6.18 ctnetlink refuses EXPECTED and DYING on create (EBUSY)
   * and silently ignores the other IPS_UNCHANGEABLE_MASK bits (CONFIRMED, the NAT and NAT_DONE
   * bits, which it sets itself from the NAT attributes, SEQ_ADJUST, TEMPLATE, UNTRACKED, OFFLOAD).
   * Of the changeable rest, FIXED_TIMEOUT would make every later timeout update fail with EPERM and
   * HELPER means nothing without a helper: only SEEN_REPLY and ASSURED remain. On update these two
   * can only be set, never cleared (EBUSY).
   */
  static final int WRITABLE_STATUS = IPS_SEEN_REPLY | IPS_ASSURED;

  /** Protocols whose tuples carry ports (TCP, UDP, DCCP, SCTP, UDP-Lite). */
  private static final Set<Integer> PORT_PROTOCOLS = Set.of(PROTO_TCP, PROTO_UDP, 33, 132, 136);

  private final NfConntrack nfct;

  NfctCodec(NfConntrack nfct) {
    this.nfct = nfct;
  }

  /**
   * What goes into a request: the key alone (lookup, delete), what an update may change, or
   * everything.
   */
  enum Part {
    KEY,
    /** The key and BE_LIBERAL with its mask in both directions, nothing else. */
    LIBERAL,
    DYNAMIC_WITHOUT_STATUS,
    DYNAMIC,
    ALL
  }

  /** A new conntrack object with {@code part} of {@code e}; the caller destroys it. */
  Pointer build(ConntrackEntry e, Part part) {
    if (e.zone() < 0 || e.zone() > 0xffff) {
      throw new IllegalArgumentException("zone out of range: " + e);
    }
    Pointer ct = nfct.nfct_new();
    if (ct == null) {
      throw new OutOfMemoryError("nfct_new");
    }
    Tuple o = e.original();
    boolean v4 = e.family() == AF_INET;
    // the L3 protocol first: the library derives the reply ICMP type from it
    nfct.nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, (byte) e.family());
    nfct.nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, (byte) e.protocol());
    nfct.nfct_set_attr(ct, v4 ? ATTR_ORIG_IPV4_SRC : ATTR_ORIG_IPV6_SRC, o.source().getAddress());
    nfct.nfct_set_attr(
        ct, v4 ? ATTR_ORIG_IPV4_DST : ATTR_ORIG_IPV6_DST, o.destination().getAddress());
    if (isIcmp(e.protocol())) {
      nfct.nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, (byte) e.icmpType());
      nfct.nfct_set_attr_u8(ct, ATTR_ICMP_CODE, (byte) e.icmpCode());
      nfct.nfct_set_attr(
          ct, ATTR_ICMP_ID, be16(o.sourcePort())); // the library mirrors type and id into the reply
    } else {
      nfct.nfct_set_attr(ct, ATTR_ORIG_PORT_SRC, be16(o.sourcePort()));
      nfct.nfct_set_attr(ct, ATTR_ORIG_PORT_DST, be16(o.destinationPort()));
    }
    if (e.zone()
        != 0) { // CTA_ZONE is refused by kernels without zone support; 0 is the default anyway
      nfct.nfct_set_attr_u16(ct, ATTR_ZONE, (short) e.zone());
    }
    if (part == Part.ALL) {
      // A create needs a reply tuple, but not the NATed one: the kernel derives that from the NAT
      // ranges (setNat).
      // Given the NATed reply it finds nothing left to translate and leaves IPS_SRC_NAT/IPS_DST_NAT
      // unset, and
      // without those bits packets are not translated.
      Tuple r = o.inverted();
      nfct.nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, (byte) e.family());
      nfct.nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, (byte) e.protocol());
      nfct.nfct_set_attr(ct, v4 ? ATTR_REPL_IPV4_SRC : ATTR_REPL_IPV6_SRC, r.source().getAddress());
      nfct.nfct_set_attr(
          ct, v4 ? ATTR_REPL_IPV4_DST : ATTR_REPL_IPV6_DST, r.destination().getAddress());
      if (!isIcmp(e.protocol())) {
        nfct.nfct_set_attr(ct, ATTR_REPL_PORT_SRC, be16(r.sourcePort()));
        nfct.nfct_set_attr(ct, ATTR_REPL_PORT_DST, be16(r.destinationPort()));
      }
    }
    if (part == Part.KEY) {
      return ct;
    }
    if (part == Part.LIBERAL) {
      byte liberal = (byte) ConntrackEntry.TCP_FLAG_BE_LIBERAL;
      nfct.nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, liberal);
      nfct.nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, liberal);
      nfct.nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, liberal);
      nfct.nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, liberal);
      return ct;
    }
    nfct.nfct_set_attr_u32(ct, ATTR_TIMEOUT, (int) Math.min(e.timeoutSeconds(), 0xffffffffL));
    nfct.nfct_set_attr_u32(ct, ATTR_MARK, e.mark());
    if (part != Part.DYNAMIC_WITHOUT_STATUS) {
      nfct.nfct_set_attr_u32(ct, ATTR_STATUS, e.status() & WRITABLE_STATUS);
    }
    if (e.isTcp()) {
      setTcp(ct, e);
    }
    if (part == Part.ALL) {
      setNat(ct, e, v4);
    }
    return ct;
  }

  private void setTcp(Pointer ct, ConntrackEntry e) {
    if (e.tcpState() >= 0) {
      nfct.nfct_set_attr_u8(ct, ATTR_TCP_STATE, (byte) e.tcpState());
    }
    // the kernel applies flags & mask; like conntrackd the mask is the flags themselves, so a write
    // sets the
    // peer's flags (BE_LIBERAL above all) and never clears ones the local tracker set
    nfct.nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, (byte) e.tcpFlagsOriginal());
    nfct.nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, (byte) e.tcpFlagsOriginal());
    nfct.nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, (byte) e.tcpFlagsReply());
    nfct.nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, (byte) e.tcpFlagsReply());
    // taken by the kernel only when both directions carry the WINDOW_SCALE flag
    nfct.nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_ORIG, (byte) e.wscaleOriginal());
    nfct.nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_REPL, (byte) e.wscaleReply());
  }

  /**
   * NAT shows as a reply tuple that is not the inverse of the original. The create carries the
   * plain reply (see {@link #build}) and these ranges, from which the kernel derives the NATed
   * reply: source NAT to the reply's destination, destination NAT to the reply's source.
   * libnetfilter_conntrack 1.0.9 sends NAT ports for TCP and UDP only, so an ICMP id or an
   * SCTP/DCCP port cannot be translated this way; the addresses can.
   */
  private void setNat(Pointer ct, ConntrackEntry e, boolean v4) {
    Tuple o = e.original();
    Tuple r = e.reply();
    boolean ports = e.protocol() == PROTO_TCP || e.protocol() == PROTO_UDP;
    if (!r.destination().equals(o.source()) || (ports && r.destinationPort() != o.sourcePort())) {
      nfct.nfct_set_attr(ct, v4 ? ATTR_SNAT_IPV4 : ATTR_SNAT_IPV6, r.destination().getAddress());
      if (ports) {
        nfct.nfct_set_attr(ct, ATTR_SNAT_PORT, be16(r.destinationPort()));
      }
    }
    if (!r.source().equals(o.destination()) || (ports && r.sourcePort() != o.destinationPort())) {
      nfct.nfct_set_attr(ct, v4 ? ATTR_DNAT_IPV4 : ATTR_DNAT_IPV6, r.source().getAddress());
      if (ports) {
        nfct.nfct_set_attr(ct, ATTR_DNAT_PORT, be16(r.sourcePort()));
      }
    }
  }

  /** The entry for a kernel object, or null when it is of a family we do not handle. */
  ConntrackEntry toEntry(Pointer ct) throws UnknownHostException {
    int family = u8(ct, ATTR_ORIG_L3PROTO);
    if (family != AF_INET && family != AF_INET6) {
      return null;
    }
    boolean v4 = family == AF_INET;
    int protocol = u8(ct, ATTR_ORIG_L4PROTO);
    InetAddress os = address(ct, v4 ? ATTR_ORIG_IPV4_SRC : ATTR_ORIG_IPV6_SRC, v4);
    InetAddress od = address(ct, v4 ? ATTR_ORIG_IPV4_DST : ATTR_ORIG_IPV6_DST, v4);
    InetAddress rs = address(ct, v4 ? ATTR_REPL_IPV4_SRC : ATTR_REPL_IPV6_SRC, v4);
    InetAddress rd = address(ct, v4 ? ATTR_REPL_IPV4_DST : ATTR_REPL_IPV6_DST, v4);
    if (os == null || od == null || rs == null || rd == null) {
      return null;
    }
    Tuple original;
    Tuple reply;
    int icmpType = -1;
    int icmpCode = -1;
    if (isIcmp(protocol)) {
      int id =
          port(ct, ATTR_ICMP_ID); // the original direction's echo id, in both ports of both tuples
      original = new Tuple(os, od, id, id);
      reply = new Tuple(rs, rd, id, id);
      icmpType = u8(ct, ATTR_ICMP_TYPE);
      icmpCode = u8(ct, ATTR_ICMP_CODE);
    } else if (PORT_PROTOCOLS.contains(protocol)) {
      original = new Tuple(os, od, port(ct, ATTR_ORIG_PORT_SRC), port(ct, ATTR_ORIG_PORT_DST));
      reply = new Tuple(rs, rd, port(ct, ATTR_REPL_PORT_SRC), port(ct, ATTR_REPL_PORT_DST));
    } else {
      original = new Tuple(os, od, 0, 0);
      reply = new Tuple(rs, rd, 0, 0);
    }
    boolean tcp = protocol == PROTO_TCP;
    return new ConntrackEntry(
        family,
        protocol,
        original,
        reply,
        u32(ct, ATTR_STATUS),
        Integer.toUnsignedLong(u32(ct, ATTR_TIMEOUT)),
        tcp && nfct.nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0 ? u8(ct, ATTR_TCP_STATE) : -1,
        tcp ? u8(ct, ATTR_TCP_FLAGS_ORIG) : 0,
        tcp ? u8(ct, ATTR_TCP_FLAGS_REPL) : 0,
        tcp ? u8(ct, ATTR_TCP_WSCALE_ORIG) : 0,
        tcp ? u8(ct, ATTR_TCP_WSCALE_REPL) : 0,
        icmpType,
        icmpCode,
        u32(ct, ATTR_MARK),
        nfct.nfct_attr_is_set(ct, ATTR_ZONE) > 0
            ? nfct.nfct_get_attr_u16(ct, ATTR_ZONE) & 0xffff
            : 0);
  }

  private static boolean isIcmp(int protocol) {
    return protocol == PROTO_ICMP || protocol == PROTO_ICMPV6;
  }

  /** Unset attributes read as 0. */
  private int u8(Pointer ct, int attr) {
    return nfct.nfct_attr_is_set(ct, attr) > 0 ? nfct.nfct_get_attr_u8(ct, attr) & 0xff : 0;
  }

  private int u32(Pointer ct, int attr) {
    return nfct.nfct_attr_is_set(ct, attr) > 0 ? nfct.nfct_get_attr_u32(ct, attr) : 0;
  }

  /** A network-byte-order u16; 0 when unset. */
  private int port(Pointer ct, int attr) {
    Pointer p = nfct.nfct_get_attr(ct, attr);
    return p == null ? 0 : ((p.getByte(0) & 0xff) << 8) | (p.getByte(1) & 0xff);
  }

  private InetAddress address(Pointer ct, int attr, boolean v4) throws UnknownHostException {
    Pointer p = nfct.nfct_get_attr(ct, attr);
    return p == null ? null : InetAddress.getByAddress(p.getByteArray(0, v4 ? 4 : 16));
  }

  private static byte[] be16(int v) {
    return new byte[] {(byte) (v >>> 8), (byte) v};
  }
}
