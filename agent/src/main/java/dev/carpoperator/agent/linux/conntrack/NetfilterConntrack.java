package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.linux.conntrack.NfConntrack.*;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_TCP;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.ConntrackKernel;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * {@code conntrack-events} ({@link NfctEvents}). The kernel reports a loss (ENOBUFS, {@link
 * Listener#overrun()}) at the next read, while events queued before the loss may still follow; the
 * socket takes new events again only once it is drained. {@link NfctCodec} builds the requests'
 * conntrack objects and reads the kernel's.
 */
public final class NetfilterConntrack implements ConntrackKernel {
  private static final Logger LOG = LoggerFactory.getLogger(NetfilterConntrack.class);

  private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

  private final NfConntrack nfct;
  private final NfctCodec codec;
  private final LibC libc = LibC.INSTANCE;
  private final Pointer writeHandle;
  private final Pointer dumpHandle;
  private final int writePortId;

  /** A strong reference: libnetfilter_conntrack keeps only the native function pointer. */
  private final NfConntrack.Callback2 dumpCallback = this::dumped;

  /** Collects the entries of the dump in progress (guarded by this). */
  private List<ConntrackEntry> dumpInto;

  /**
   * An Error thrown in a callback. A Java exception must not unwind through the C library's frames,
   * so the callback records it, stops the library's loop and returns; the Java caller of the
   * library ({@link #dump}; for events {@link NfctEvents}) rethrows it, and the Error ends the
   * process in the defined way (dev.carpoperator.agent.Fatal). Caught Errors are never logged and
   * forgotten: an agent that goes on after one is half-alive.
   */
  private volatile Error callbackError;

  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong writeErrors = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final NfctEvents events;

  private volatile boolean closed;

  private NetfilterConntrack(
      NfConntrack nfct, NfConntrack.Nfnl nfnl, Pointer writeHandle, Pointer dumpHandle) {
    this.nfct = nfct;
    this.codec = new NfctCodec(nfct);
    this.writeHandle = writeHandle;
    this.dumpHandle = dumpHandle;
    this.writePortId = nfnl.nfnl_portid(nfct.nfct_nfnlh(writeHandle));
    this.events = new NfctEvents(nfct, nfnl, codec, writePortId, skipped);
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

  static Pointer openHandle(NfConntrack nfct, int groups) {
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
    int errno = query(dumpHandle, NFCT_Q_GET, codec.build(impossible, NfctCodec.Part.KEY));
    if (errno != 0 && errno != LibC.ENOENT) {
      throw new ConntrackException(
          "ctnetlink refused a lookup: " + libc.strerror(errno) + hint(errno), errno);
    }
  }

  static String hint(int errno) {
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
      ConntrackEntry e = codec.toEntry(ct);
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
    int errno = request(NFCT_Q_CREATE, entry, NfctCodec.Part.ALL);
    String op = "create";
    if (errno == LibC.EEXIST) {
      op = "update";
      errno = request(NFCT_Q_UPDATE, entry, NfctCodec.Part.DYNAMIC);
      if (errno == LibC.EBUSY) {
        // the kernel already has SEEN_REPLY/ASSURED bits that the entry lacks; they cannot be
        // cleared, keep them
        errno = request(NFCT_Q_UPDATE, entry, NfctCodec.Part.DYNAMIC_WITHOUT_STATUS);
      }
    }
    if (errno != 0) {
      throw failed(op, entry, errno);
    }
    writes.incrementAndGet();
  }

  @Override
  public synchronized boolean makeLiberal(ConntrackEntry entry) {
    ensureOpen();
    if (!entry.isTcp()) throw new IllegalArgumentException("not a TCP entry: " + entry);
    int errno = request(NFCT_Q_UPDATE, entry, NfctCodec.Part.LIBERAL);
    if (errno == LibC.ENOENT) {
      return false;
    }
    if (errno != 0) {
      throw failed("liberal update", entry, errno);
    }
    writes.incrementAndGet();
    return true;
  }

  @Override
  public synchronized boolean delete(ConntrackEntry entry) {
    ensureOpen();
    int errno = request(NFCT_Q_DESTROY, entry, NfctCodec.Part.KEY);
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
  private int request(int query, ConntrackEntry entry, NfctCodec.Part part) {
    return query(writeHandle, query, codec.build(entry, part));
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

  @Override
  public void listen(Listener listener) {
    synchronized (this) {
      ensureOpen();
      events.start(listener);
    }
  }

  @Override
  public Stats stats() {
    return new Stats(
        events.events.get(),
        events.ownEventsIgnored.get(),
        events.overruns.get(),
        writes.get(),
        writeErrors.get());
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
    return events.listenerErrors.get();
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
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      events.stop();
      nfct.nfct_close(writeHandle);
      nfct.nfct_close(dumpHandle);
    }
    events.join(CLOSE_WAIT);
  }
}
