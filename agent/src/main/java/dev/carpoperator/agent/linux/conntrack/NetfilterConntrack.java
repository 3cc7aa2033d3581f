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

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.ConntrackKernel;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ConntrackKernel} over ctnetlink with libnetfilter_conntrack, in the network namespace of
 * the thread that calls {@link #open()}. Three netlink sockets: one for writes (apply, delete), one
 * for dumps and one, opened by {@link #listen}, subscribed to the conntrack event groups. Events
 * whose {@code nlmsg_pid} is the write socket's port id were caused by our own writes and are
 * dropped (counted in {@link Stats#ownEventsIgnored()}): the kernel stamps the requester's port id
 * on the events a ctnetlink request triggers, and 0 on those caused by packets or timeouts.
 *
 * <p>An update (apply of an entry that exists) sends the timeout, the mark, the SEEN_REPLY/ASSURED
 * bits and the TCP state, flags and window scales; tuples and NAT stay as created.
 *
 * <p>apply, delete and dump are serialized on this object; events arrive on the daemon thread
 * {@code conntrack-events}. The kernel reports a loss (ENOBUFS, {@link Listener#overrun()}) at the
 * next read, while events queued before the loss may still follow; the socket takes new events
 * again only once it is drained.
 */
public final class NetfilterConntrack implements ConntrackKernel {
  private static final Logger LOG = LoggerFactory.getLogger(NetfilterConntrack.class);

  /**
   * Event socket receive buffer: holds about 13 000 events (measured) before the kernel drops them
   * (ENOBUFS).
   */
  static final int EVENT_RCVBUF = 8 << 20;

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

  private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

  private final NfConntrack nfct;
  private final NfConntrack.Nfnl nfnl;
  private final LibC libc = LibC.INSTANCE;
  private final Pointer writeHandle;
  private final Pointer dumpHandle;
  private final int writePortId;

  /** Strong references: libnetfilter_conntrack keeps only the native function pointers. */
  private final NfConntrack.Callback2 dumpCallback = this::dumped;

  private NfConntrack.Callback2 eventCallback;

  /** Collects the entries of the dump in progress (guarded by this). */
  private List<ConntrackEntry> dumpInto;

  /**
   * An Error thrown in a callback. A Java exception must not unwind through the C library's frames,
   * so the callback records it, stops the library's loop and returns; the Java caller of the
   * library ({@link #dump}, the event loop) rethrows it, and the Error ends the process in the
   * defined way (dev.carpoperator.agent.Fatal). Caught Errors are never logged and forgotten: an
   * agent that goes on after one is half-alive.
   */
  private volatile Error callbackError;

  private final AtomicLong events = new AtomicLong();
  private final AtomicLong ownEventsIgnored = new AtomicLong();
  private final AtomicLong overruns = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong writeErrors = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong listenerErrors = new AtomicLong();

  private volatile boolean closed;
  private Thread eventThread;

  /** eventfd that wakes the event thread's poll on close; -1 once closed (guarded by this). */
  private int wakeFd = -1;

  private NetfilterConntrack(
      NfConntrack nfct, NfConntrack.Nfnl nfnl, Pointer writeHandle, Pointer dumpHandle) {
    this.nfct = nfct;
    this.nfnl = nfnl;
    this.writeHandle = writeHandle;
    this.dumpHandle = dumpHandle;
    this.writePortId = nfnl.nfnl_portid(nfct.nfct_nfnlh(writeHandle));
    nfct.nfct_callback_register2(dumpHandle, NFCT_T_ALL, dumpCallback, null);
  }

  /**
   * Opens the sockets in the calling thread's network namespace and checks that the kernel accepts
   * our requests. Needs CAP_NET_ADMIN and the Debian package libnetfilter-conntrack3.
   */
  public static NetfilterConntrack open() {
    return open(NfConntrack.LIBRARY);
  }

  static NetfilterConntrack open(String library) {
    NfConntrack nfct;
    NfConntrack.Nfnl nfnl;
    try {
      nfct = Native.load(library, NfConntrack.class);
      nfnl = Native.load(NfConntrack.Nfnl.LIBRARY, NfConntrack.Nfnl.class);
    } catch (UnsatisfiedLinkError e) {
      throw new ConntrackException(
          "cannot load "
              + library
              + " (install the Debian package libnetfilter-conntrack3): "
              + e.getMessage(),
          0);
    }
    Pointer write = openHandle(nfct, 0);
    Pointer dump;
    try {
      dump = openHandle(nfct, 0);
    } catch (ConntrackException e) {
      nfct.nfct_close(write);
      throw e;
    }
    NetfilterConntrack ct = new NetfilterConntrack(nfct, nfnl, write, dump);
    try {
      ct.probe();
    } catch (ConntrackException e) {
      ct.close();
      throw e;
    }
    return ct;
  }

  private static Pointer openHandle(NfConntrack nfct, int groups) {
    Pointer h = nfct.nfct_open(NFNL_SUBSYS_CTNETLINK, groups);
    if (h == null) {
      int errno = Native.getLastError();
      throw new ConntrackException(
          "cannot open a ctnetlink socket: " + LibC.INSTANCE.strerror(errno) + hint(errno), errno);
    }
    return h;
  }

  /**
   * Sockets open without privileges; requests do not. A lookup of an impossible entry tells which
   * case we are in.
   */
  private synchronized void probe() {
    Tuple nowhere =
        new Tuple(InetAddress.ofLiteral("0.0.0.0"), InetAddress.ofLiteral("0.0.0.0"), 0, 0);
    ConntrackEntry impossible =
        new ConntrackEntry(
            AF_INET, PROTO_TCP, nowhere, nowhere, 0, 0, -1, 0, 0, 0, 0, -1, -1, 0, 0);
    int errno = query(dumpHandle, NFCT_Q_GET, build(impossible, Part.KEY));
    if (errno != 0 && errno != LibC.ENOENT) {
      throw new ConntrackException(
          "ctnetlink refused a lookup: " + libc.strerror(errno) + hint(errno), errno);
    }
  }

  private static String hint(int errno) {
    return errno == LibC.EPERM
        ? " (needs CAP_NET_ADMIN in this network namespace: run as root)"
        : "";
  }

  @Override
  public synchronized List<ConntrackEntry> dump() {
    ensureOpen();
    List<ConntrackEntry> entries = new ArrayList<>();
    dumpInto = entries;
    try (Memory family = new Memory(4)) {
      family.setInt(0, 0); // AF_UNSPEC: IPv4 and IPv6
      int rc = nfct.nfct_query(dumpHandle, NFCT_Q_DUMP, family);
      rethrowCallbackError();
      if (rc != 0) {
        int errno = Native.getLastError();
        throw new ConntrackException(
            "conntrack dump failed: " + libc.strerror(errno) + hint(errno), errno);
      }
    } finally {
      dumpInto = null;
    }
    return entries;
  }

  private int dumped(Pointer nlh, int type, Pointer ct, Pointer data) {
    try {
      ConntrackEntry e = toEntry(ct);
      if (e == null) {
        skipped.incrementAndGet();
      } else if (dumpInto != null) {
        dumpInto.add(e);
      }
    } catch (Exception ex) { // never into C; one unreadable entry must not end the dump
      skipped.incrementAndGet();
      LOG.warn("cannot read a dumped conntrack entry", ex);
    } catch (Error err) { // never into C: rethrown by dump()
      callbackError = err;
      return NFCT_CB_STOP;
    }
    return NFCT_CB_CONTINUE;
  }

  private void rethrowCallbackError() {
    Error e = callbackError;
    if (e != null) {
      callbackError = null;
      throw e;
    }
  }

  @Override
  public synchronized void apply(ConntrackEntry entry) {
    ensureOpen();
    int errno = request(NFCT_Q_CREATE, entry, Part.ALL);
    String op = "create";
    if (errno == LibC.EEXIST) {
      op = "update";
      errno = request(NFCT_Q_UPDATE, entry, Part.DYNAMIC);
      if (errno == LibC.EBUSY) {
        // the kernel already has SEEN_REPLY/ASSURED bits that the entry lacks; they cannot be
        // cleared, keep them
        errno = request(NFCT_Q_UPDATE, entry, Part.DYNAMIC_WITHOUT_STATUS);
      }
    }
    if (errno != 0) {
      throw failed(op, entry, errno);
    }
    writes.incrementAndGet();
  }

  @Override
  public synchronized boolean delete(ConntrackEntry entry) {
    ensureOpen();
    int errno = request(NFCT_Q_DESTROY, entry, Part.KEY);
    if (errno == LibC.ENOENT) {
      return false;
    }
    if (errno != 0) {
      throw failed("delete", entry, errno);
    }
    writes.incrementAndGet();
    return true;
  }

  private ConntrackException failed(String op, ConntrackEntry entry, int errno) {
    writeErrors.incrementAndGet();
    return new ConntrackException(
        "conntrack "
            + op
            + " of "
            + entry
            + " failed: "
            + libc.strerror(errno)
            + " (errno "
            + errno
            + ")"
            + hint(errno),
        errno);
  }

  /** Sends one request on the write socket; returns 0 or the errno. */
  private int request(int query, ConntrackEntry entry, Part part) {
    return query(writeHandle, query, build(entry, part));
  }

  /** Runs the query and frees {@code ct}; returns 0 or the errno. */
  private int query(Pointer handle, int query, Pointer ct) {
    try {
      if (nfct.nfct_query(handle, query, ct) == 0) {
        return 0;
      }
      int errno = Native.getLastError(); // before any other native call overwrites it
      return errno != 0 ? errno : LibC.EIO; // failed without saying why
    } finally {
      nfct.nfct_destroy(ct);
    }
  }

  /**
   * What goes into a request: the key alone (lookup, delete), what an update may change, or
   * everything.
   */
  private enum Part {
    KEY,
    DYNAMIC_WITHOUT_STATUS,
    DYNAMIC,
    ALL
  }

  private Pointer build(ConntrackEntry e, Part part) {
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
  private ConntrackEntry toEntry(Pointer ct) throws UnknownHostException {
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

  @Override
  public void listen(Listener listener) {
    synchronized (this) {
      ensureOpen();
      if (eventThread != null) {
        throw new IllegalStateException("already listening");
      }
      Pointer h =
          openHandle(
              nfct,
              NF_NETLINK_CONNTRACK_NEW
                  | NF_NETLINK_CONNTRACK_UPDATE
                  | NF_NETLINK_CONNTRACK_DESTROY);
      int fd = nfct.nfct_fd(h);
      int granted = nfnl.nfnl_rcvbufsiz(nfct.nfct_nfnlh(h), EVENT_RCVBUF);
      LOG.debug(
          "conntrack event socket: port id {}, receive buffer {} bytes",
          nfnl.nfnl_portid(nfct.nfct_nfnlh(h)),
          granted);
      // non-blocking, so that nfct_catch returns (EAGAIN) once it has drained the socket and the
      // thread can
      // wait in poll() together with the close() wake-up
      int flags = libc.fcntl(fd, LibC.F_GETFL);
      int wake =
          flags < 0 || libc.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK) < 0
              ? -1
              : libc.eventfd(0, LibC.EFD_CLOEXEC);
      if (wake < 0) {
        int errno = Native.getLastError();
        nfct.nfct_close(h);
        throw new ConntrackException(
            "cannot set up the conntrack event socket: " + libc.strerror(errno), errno);
      }
      wakeFd = wake;
      eventCallback = (nlh, type, ct, data) -> event(listener, nlh, type, ct);
      nfct.nfct_callback_register2(h, NFCT_T_ALL, eventCallback, null);
      eventThread = new Thread(() -> eventLoop(h, fd, listener), "conntrack-events");
      eventThread.setDaemon(true);
      eventThread.start();
    }
  }

  private void eventLoop(Pointer handle, int fd, Listener listener) {
    try (Memory fds =
        new Memory(16)) { // two struct pollfd: the event socket and the wake-up eventfd
      fds.setInt(0, fd);
      fds.setShort(4, LibC.POLLIN);
      synchronized (this) {
        fds.setInt(8, wakeFd);
      }
      fds.setShort(12, LibC.POLLIN);
      while (!closed) {
        fds.setShort(6, (short) 0);
        fds.setShort(14, (short) 0);
        if (libc.poll(fds, new NativeLong(2), -1) < 0) {
          int errno = Native.getLastError();
          if (errno == LibC.EINTR) {
            continue;
          }
          LOG.error("conntrack events: poll failed: {}; no more events", libc.strerror(errno));
          return;
        }
        if (closed || fds.getShort(14) != 0) {
          return;
        }
        int rc = nfct.nfct_catch(handle);
        rethrowCallbackError(); // ends this thread: the uncaught-exception handler ends the process
        if (rc < 0) {
          int errno = Native.getLastError();
          if (errno == LibC.ENOBUFS) {
            overruns.incrementAndGet();
            LOG.warn("conntrack events lost (netlink receive buffer overrun)");
            try {
              listener.overrun();
            } catch (RuntimeException e) {
              listenerErrors.incrementAndGet();
              LOG.warn("conntrack listener failed on overrun", e);
            }
          } else if (errno != LibC.EAGAIN) {
            LOG.warn("conntrack events: {}", libc.strerror(errno));
          }
        }
      }
    } finally {
      nfct.nfct_close(handle);
      synchronized (this) {
        libc.close(wakeFd);
        wakeFd = -1;
      }
    }
  }

  private int event(Listener listener, Pointer nlh, int type, Pointer ct) {
    try {
      if (nlh.getInt(12) == writePortId) { // nlmsghdr.nlmsg_pid
        ownEventsIgnored.incrementAndGet();
        return NFCT_CB_CONTINUE;
      }
      EventType t =
          switch (type) {
            case NFCT_T_NEW -> EventType.NEW;
            case NFCT_T_UPDATE -> EventType.UPDATE;
            case NFCT_T_DESTROY -> EventType.DESTROY;
            default -> null;
          };
      ConntrackEntry e = t == null ? null : toEntry(ct);
      if (e == null) {
        skipped.incrementAndGet();
        return NFCT_CB_CONTINUE;
      }
      events.incrementAndGet();
      try {
        listener.event(t, e);
      } catch (RuntimeException ex) {
        listenerErrors.incrementAndGet();
        LOG.warn("conntrack listener failed on {} {}", t, e, ex);
      }
    } catch (Exception ex) { // never into C; one unreadable event must not end the stream
      skipped.incrementAndGet();
      LOG.warn("cannot read a conntrack event", ex);
    } catch (Error err) { // never into C: rethrown by the event loop after nfct_catch returns
      callbackError = err;
      return NFCT_CB_STOP;
    }
    return NFCT_CB_CONTINUE;
  }

  @Override
  public Stats stats() {
    return new Stats(
        events.get(), ownEventsIgnored.get(), overruns.get(), writes.get(), writeErrors.get());
  }

  /**
   * Kernel entries or events not delivered because they could not be read (unknown family, missing
   * tuple).
   */
  public long skipped() {
    return skipped.get();
  }

  /** Exceptions thrown by the listener (logged; the stream goes on). */
  public long listenerErrors() {
    return listenerErrors.get();
  }

  /** The write socket's netlink port id, which the kernel puts on the events our writes cause. */
  public int portId() {
    return writePortId;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("conntrack handle closed");
    }
  }

  /** Stops the event thread (waking its poll) and closes the sockets. Idempotent. */
  @Override
  public void close() {
    Thread thread;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      thread = eventThread;
      if (wakeFd >= 0) {
        libc.write(
            wakeFd, new byte[] {1, 0, 0, 0, 0, 0, 0, 0}, new NativeLong(8)); // any nonzero u64
      }
      nfct.nfct_close(writeHandle);
      nfct.nfct_close(dumpHandle);
    }
    if (thread != null && thread != Thread.currentThread()) {
      try {
        thread.join(CLOSE_WAIT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (thread.isAlive()) {
        LOG.warn(
            "conntrack event thread still running {} after close (blocked in the listener?)",
            CLOSE_WAIT);
      }
    }
  }
}
