package dev.carpoperator.agent.sync;

import static dev.carpoperator.agent.pfsync.PfPeerState.*;

import dev.carpoperator.agent.pfsync.PfAddr;
import dev.carpoperator.agent.pfsync.PfStateFlags;
import dev.carpoperator.agent.pfsync.PfTimeout;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncState;
import dev.carpoperator.agent.pfsync.StateKey;
import dev.carpoperator.agent.pfsync.StatePeer;
import java.net.InetAddress;

/**
 * Linux conntrack entries to pfsync states and back (docs/protocols/conntrack.md). Pure and lossy
 * where the models differ:
 *
 * <ul>
 *   <li>Keys: an entry goes out as one <em>inbound</em> floating state ({@code direction = PF_IN},
 *       {@code ifname = "all"}): wire key = the original tuple, stack key = the reply tuple
 *       reversed, so NAT shows as wire != stack the way pf shows it. Inbound and outbound states
 *       from a BSD peer are both read back by the rules of docs/protocols/conntrack.md §2.
 *   <li>TCP: Linux keeps one tracker state, pf one per peer; {@link #peersFor} and {@link
 *       #linuxTcpState} translate with the heuristic of docs/protocols/conntrack.md §4. Linux
 *       exposes no sequence windows, so none are sent (seqlo/seqhi 0) and states we export carry
 *       PFSTATE_SLOPPY, asking a pf peer for loose tracking; entries written from any peer's state
 *       get IP_CT_TCP_FLAG_BE_LIBERAL, as conntrackd does, so the kernel relearns the windows from
 *       the next packets.
 *   <li>The conntrack zone travels as the key's rdomain (pf's routing domain is the nearest thing).
 *   <li>Counters, creation time, marks, rule numbers, route-to and scrub data are not carried.
 *   <li>ICMP: pf's key carries the echo id only; imported ICMP states are echo requests (type 8 /
 *       128, code 0).
 * </ul>
 */
public final class StateMapper {
  /** Refused imports, by why. */
  public enum Refusal {
    UNSUPPORTED_FAMILY,
    MIXED_FAMILY,
    ZERO_CREATOR,
    EXPIRED,
    UNSUPPORTED_DIRECTION
  }

  /** The result of {@link #toEntry}: an entry, or why the state cannot become one. */
  public record Import(ConntrackEntry entry, Refusal refusal) {
    public boolean ok() {
      return entry != null;
    }
  }

  private StateMapper() {}

  /** The pfsync state announcing {@code entry} under the global id (id, creatorid). */
  public static PfsyncState toState(ConntrackEntry entry, long id, int creatorid) {
    int af = entry.family() == ConntrackEntry.AF_INET ? Pfsync.AF_INET : Pfsync.AF_INET6;
    var orig = entry.original();
    var reply = entry.reply();
    int rdomain = entry.zone(); // conntrack zones play the part of pf's routing domains
    StateKey wire =
        new StateKey(
            PfAddr.of(orig.source()),
            PfAddr.of(orig.destination()),
            orig.sourcePort(),
            orig.destinationPort(),
            rdomain,
            af);
    StateKey stack =
        new StateKey(
            PfAddr.of(reply.destination()),
            PfAddr.of(reply.source()),
            reply.destinationPort(),
            reply.sourcePort(),
            rdomain,
            af);
    StatePeer[] peers = peersFor(entry);
    return PfsyncState.builder()
        .id(id)
        .creatorid(creatorid)
        .ifname(PfsyncState.IFNAME_ALL)
        .wireKey(wire)
        .stackKey(stack)
        .src(peers[0])
        .dst(peers[1])
        .expire((int) Math.min(entry.timeoutSeconds(), 0xffffffffL))
        .timeout(timeoutClass(entry).index())
        .af(af)
        .proto(entry.protocol())
        .direction(Pfsync.PF_IN)
        .stateFlags(entry.isTcp() ? PfStateFlags.SLOPPY : 0)
        .build();
  }

  /**
   * The conntrack entry for a received state, or why not. {@code liberal} entries get BE_LIBERAL on
   * both TCP sides (always the case for states from a peer: their windows are unknown here).
   */
  public static Import toEntry(PfsyncState s) {
    if (s.creatorid() == 0) return refuse(Refusal.ZERO_CREATOR);
    if (s.expire() == 0) return refuse(Refusal.EXPIRED);
    int family = linuxFamily(s.af());
    if (family < 0) return refuse(Refusal.UNSUPPORTED_FAMILY);
    if (s.wireKey().af() != s.af() || s.stackKey().af() != s.af())
      return refuse(Refusal.MIXED_FAMILY); // af-to (NAT64)
    ConntrackEntry.Tuple original;
    ConntrackEntry.Tuple reply;
    StateKey w = s.wireKey();
    StateKey k = s.stackKey();
    if (s.direction() == Pfsync.PF_IN) {
      original = tuple(w.addr0(), w.addr1(), w.port0(), w.port1(), s.af());
      reply = tuple(k.addr1(), k.addr0(), k.port1(), k.port0(), s.af());
    } else if (s.direction() == Pfsync.PF_OUT) {
      original = tuple(k.addr1(), k.addr0(), k.port1(), k.port0(), s.af());
      reply = tuple(w.addr0(), w.addr1(), w.port0(), w.port1(), s.af());
    } else {
      return refuse(Refusal.UNSUPPORTED_DIRECTION);
    }
    int proto = s.proto();
    boolean icmp = proto == ConntrackEntry.PROTO_ICMP || proto == ConntrackEntry.PROTO_ICMPV6;
    int status = udpLikeStatus(s.src().state(), s.dst().state());
    if (!reply.source().equals(original.destination())
        || reply.sourcePort() != original.destinationPort()) status |= ConntrackEntry.IPS_DST_NAT;
    if (!reply.destination().equals(original.source())
        || reply.destinationPort() != original.sourcePort()) status |= ConntrackEntry.IPS_SRC_NAT;
    int tcpState = -1;
    int flagsOrig = 0;
    int flagsReply = 0;
    int wsOrig = 0;
    int wsReply = 0;
    if (proto == ConntrackEntry.PROTO_TCP) {
      tcpState = linuxTcpState(s.src().state(), s.dst().state());
      flagsOrig = ConntrackEntry.TCP_FLAG_BE_LIBERAL;
      flagsReply = ConntrackEntry.TCP_FLAG_BE_LIBERAL;
      if (s.src().windowScaleSeen()) {
        flagsOrig |= ConntrackEntry.TCP_FLAG_WINDOW_SCALE;
        wsOrig = s.src().windowScaleShift();
      }
      if (s.dst().windowScaleSeen()) {
        flagsReply |= ConntrackEntry.TCP_FLAG_WINDOW_SCALE;
        wsReply = s.dst().windowScaleShift();
      }
      if (tcpState == ConntrackEntry.TCP_ESTABLISHED)
        status |= ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED;
    }
    int icmpType = -1;
    int icmpCode = -1;
    if (icmp) {
      icmpType =
          proto == ConntrackEntry.PROTO_ICMP
              ? 8
              : 128; // echo request: the only ICMP state pf keys carry an id for
      icmpCode = 0;
    }
    return new Import(
        new ConntrackEntry(
            family,
            proto,
            original,
            reply,
            status,
            Integer.toUnsignedLong(s.expire()),
            tcpState,
            flagsOrig,
            flagsReply,
            wsOrig,
            wsReply,
            icmpType,
            icmpCode,
            0,
            w.rdomain()),
        null);
  }

  /**
   * src (initiator) and dst (responder) peers for an entry; no sequence windows (Linux does not
   * expose them).
   */
  public static StatePeer[] peersFor(ConntrackEntry e) {
    if (!e.isTcp()) {
      boolean replied = (e.status() & ConntrackEntry.IPS_SEEN_REPLY) != 0;
      boolean assured = (e.status() & ConntrackEntry.IPS_ASSURED) != 0;
      int src = assured || replied ? MULTIPLE : SINGLE;
      int dst = assured ? MULTIPLE : replied ? SINGLE : NO_TRAFFIC;
      return new StatePeer[] {
        StatePeer.of(src, 0, 0, 0, 0, 0, 0), StatePeer.of(dst, 0, 0, 0, 0, 0, 0)
      };
    }
    // Who closed first: CLOSE_INIT marks the direction that sent the first FIN (or RST).
    boolean replyClosed =
        (e.tcpFlagsReply() & ConntrackEntry.TCP_FLAG_CLOSE_INIT) != 0
            && (e.tcpFlagsOriginal() & ConntrackEntry.TCP_FLAG_CLOSE_INIT) == 0;
    int closer;
    int other;
    switch (e.tcpState()) {
      case ConntrackEntry.TCP_SYN_SENT -> {
        closer = TCPS_SYN_SENT;
        other = TCPS_CLOSED;
        replyClosed = false;
      }
      case ConntrackEntry.TCP_SYN_SENT2 -> {
        closer = TCPS_SYN_SENT;
        other = TCPS_SYN_SENT;
      }
      case ConntrackEntry.TCP_SYN_RECV -> {
        closer = TCPS_SYN_SENT;
        other = TCPS_SYN_RECEIVED;
        replyClosed = false;
      }
      case ConntrackEntry.TCP_ESTABLISHED -> {
        closer = TCPS_ESTABLISHED;
        other = TCPS_ESTABLISHED;
      }
      case ConntrackEntry.TCP_FIN_WAIT -> {
        closer = TCPS_FIN_WAIT_1;
        other = TCPS_ESTABLISHED;
      }
      case ConntrackEntry.TCP_CLOSE_WAIT -> {
        closer = TCPS_FIN_WAIT_2;
        other = TCPS_CLOSE_WAIT;
      }
      case ConntrackEntry.TCP_LAST_ACK -> {
        closer = TCPS_FIN_WAIT_2;
        other = TCPS_LAST_ACK;
      }
      case ConntrackEntry.TCP_TIME_WAIT -> {
        closer = TCPS_TIME_WAIT;
        other = TCPS_TIME_WAIT;
      }
      default -> {
        closer = TCPS_CLOSED;
        other = TCPS_CLOSED;
      } // CLOSE, NONE
    }
    int srcState = replyClosed ? other : closer;
    int dstState = replyClosed ? closer : other;
    StatePeer src =
        StatePeer.of(srcState, 0, 0, 0, 0, 0, wscale(e.tcpFlagsOriginal(), e.wscaleOriginal()));
    StatePeer dst =
        StatePeer.of(dstState, 0, 0, 0, 0, 0, wscale(e.tcpFlagsReply(), e.wscaleReply()));
    return new StatePeer[] {src, dst};
  }

  /**
   * The heuristic of docs/protocols/conntrack.md §4 from the two pf peer states to Linux's single
   * TCP state.
   */
  public static int linuxTcpState(int src, int dst) {
    int hi = Math.max(src, dst);
    int lo = Math.min(src, dst);
    if (src == TCPS_TIME_WAIT || dst == TCPS_TIME_WAIT || lo >= TCPS_FIN_WAIT_2)
      return ConntrackEntry.TCP_TIME_WAIT;
    if (src == TCPS_LAST_ACK || dst == TCPS_LAST_ACK || src == TCPS_CLOSING || dst == TCPS_CLOSING)
      return ConntrackEntry.TCP_LAST_ACK;
    if (src == TCPS_CLOSE_WAIT || dst == TCPS_CLOSE_WAIT) return ConntrackEntry.TCP_CLOSE_WAIT;
    if (hi == TCPS_FIN_WAIT_1 || hi == TCPS_FIN_WAIT_2) return ConntrackEntry.TCP_FIN_WAIT;
    if (src == TCPS_ESTABLISHED && dst == TCPS_ESTABLISHED) return ConntrackEntry.TCP_ESTABLISHED;
    if (src == TCPS_SYN_SENT && dst == TCPS_SYN_SENT) return ConntrackEntry.TCP_SYN_SENT2;
    if (dst == TCPS_SYN_RECEIVED || (src == TCPS_ESTABLISHED || dst == TCPS_ESTABLISHED))
      return ConntrackEntry.TCP_SYN_RECV;
    if (src == TCPS_SYN_SENT) return ConntrackEntry.TCP_SYN_SENT;
    return ConntrackEntry.TCP_CLOSE;
  }

  /** pf's timeout class for an entry, so a pf peer expires it on the right schedule. */
  public static PfTimeout timeoutClass(ConntrackEntry e) {
    boolean replied = (e.status() & ConntrackEntry.IPS_SEEN_REPLY) != 0;
    return switch (e.protocol()) {
      case ConntrackEntry.PROTO_TCP ->
          switch (e.tcpState()) {
            case ConntrackEntry.TCP_SYN_SENT, ConntrackEntry.TCP_SYN_SENT2 ->
                PfTimeout.TCP_FIRST_PACKET;
            case ConntrackEntry.TCP_SYN_RECV -> PfTimeout.TCP_OPENING;
            case ConntrackEntry.TCP_ESTABLISHED -> PfTimeout.TCP_ESTABLISHED;
            case ConntrackEntry.TCP_FIN_WAIT,
                ConntrackEntry.TCP_CLOSE_WAIT,
                ConntrackEntry.TCP_LAST_ACK ->
                PfTimeout.TCP_CLOSING;
            case ConntrackEntry.TCP_TIME_WAIT -> PfTimeout.TCP_FIN_WAIT;
            default -> PfTimeout.TCP_CLOSED;
          };
      case ConntrackEntry.PROTO_UDP -> replied ? PfTimeout.UDP_MULTIPLE : PfTimeout.UDP_SINGLE;
      case ConntrackEntry.PROTO_ICMP, ConntrackEntry.PROTO_ICMPV6 -> PfTimeout.ICMP_FIRST_PACKET;
      default -> replied ? PfTimeout.OTHER_MULTIPLE : PfTimeout.OTHER_SINGLE;
    };
  }

  /** Linux status bits from UDP/other peer states (MULTIPLE on both sides is Linux's ASSURED). */
  static int udpLikeStatus(int src, int dst) {
    int status = 0;
    if (dst >= SINGLE) status |= ConntrackEntry.IPS_SEEN_REPLY;
    if (src >= MULTIPLE && dst >= MULTIPLE) status |= ConntrackEntry.IPS_ASSURED;
    return status;
  }

  static int linuxFamily(int pfAf) {
    return switch (pfAf) {
      case Pfsync.AF_INET -> ConntrackEntry.AF_INET;
      case Pfsync.AF_INET6 -> ConntrackEntry.AF_INET6;
      default -> -1;
    };
  }

  private static int wscale(int flags, int shift) {
    return (flags & ConntrackEntry.TCP_FLAG_WINDOW_SCALE) != 0
        ? Pfsync.PF_WSCALE_FLAG | (shift & Pfsync.PF_WSCALE_MASK)
        : 0;
  }

  private static ConntrackEntry.Tuple tuple(PfAddr src, PfAddr dst, int sport, int dport, int af) {
    InetAddress s = src.toInetAddress(af);
    InetAddress d = dst.toInetAddress(af);
    return new ConntrackEntry.Tuple(s, d, sport, dport);
  }

  private static Import refuse(Refusal r) {
    return new Import(null, r);
  }
}
