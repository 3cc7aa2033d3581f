package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.linux.conntrack.NfConntrack.*;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_TCP;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.ConntrackKernel;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
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
 * dropped, by a socket filter in the kernel (or, should it not attach, after reading, counted in
 * {@link Stats#ownEventsIgnored()}): the kernel stamps the requester's port id on the events a
 * ctnetlink request triggers, and 0 on those caused by packets or timeouts.
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

  /** Room for a batch's acknowledgements, failures included (they echo the request). */
  private static final int WRITE_RECEIVE_BUFFER = 1 << 20;

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

  // Batched writes: netlink headers and constants (linux/netlink.h, nfnetlink_conntrack.h).
  private static final int NLMSG_HDRLEN = 16;
  private static final int NFGENMSG_LEN = 4;
  private static final short NLMSG_ERROR = 2;
  private static final short NLMSG_DONE = 3;
  private static final int IPCTNL_MSG_CT_GET = 1;
  private static final short DUMP_REQUEST = 0x1 | 0x300; // NLM_F_REQUEST | NLM_F_DUMP
  private static final int IPCTNL_MSG_CT_NEW = 0;
  private static final int IPCTNL_MSG_CT_DELETE = 2;
  private static final short NLM_F_ACK = 0x4;
  private static final short ACK_REQUEST = 0x1 | NLM_F_ACK; // NLM_F_REQUEST | NLM_F_ACK
  private static final short CREATE_REQUEST = ACK_REQUEST | 0x200 | 0x400; // | EXCL | CREATE

  /** Offset of the flags in a netlink header (after the length and the type). */
  private static final int NLMSG_FLAGS_OFFSET = 6;

  /**
   * Requests per send. Only the last of a send asks for an acknowledgement; an error is answered
   * whatever the flags (a socket buffer of about 1 KiB each): this many stay well inside the write
   * socket's receive buffer, so none is dropped.
   */
  static final int BATCH_REQUESTS = 64;

  /** A request with NAT and TCP details is under 400 bytes (CtNetlinkEncoder): 64 of them fit. */
  private static final int BATCH_BYTES = 64 * 1024;

  private final Memory sendBuffer = new Memory(BATCH_BYTES);
  private final Memory receiveBuffer = new Memory(BATCH_BYTES);

  /** Twice the largest message batch a netlink dump sends (32 KiB), so that no read truncates. */
  private static final int DUMP_BUFFER_BYTES = 64 * 1024;

  private final Memory dumpBuffer = new Memory(DUMP_BUFFER_BYTES);
  private final int dumpFd;

  /**
   * Guards the dump socket and its buffers, apart from the writes' lock (this object): a dump read
   * on another thread does not hold up the sync loop's writes.
   */
  private final Object dumpLock = new Object();

  private final Memory dumpRequest = new Memory(NLMSG_HDRLEN + NFGENMSG_LEN);
  private int nextDumpSeq = 1; // the dump socket's own sequence numbers (under dumpLock)

  /** The send buffer as Java writes it (native order, as netlink headers are). */
  private final ByteBuffer sendView =
      sendBuffer.getByteBuffer(0, BATCH_BYTES).order(ByteOrder.nativeOrder());

  private final int writeFd;

  /** Sequence numbers of batched requests: apart from those libnfnetlink gives its own. */
  private int nextSeq = 1 << 30;

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
    this.writeFd = nfct.nfct_fd(writeHandle);
    this.dumpFd = nfct.nfct_fd(dumpHandle);
    nfnl.nfnl_rcvbufsiz(nfct.nfct_nfnlh(writeHandle), WRITE_RECEIVE_BUFFER);
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

  /** Safe beside writes on another thread: the dump has a socket and a lock of its own. */
  @Override
  public List<ConntrackEntry> dump() {
    synchronized (dumpLock) {
      ensureOpen();
      return dumpLocked();
    }
  }

  private List<ConntrackEntry> dumpLocked() {
    // One dump request, the kernel's answer read in 64 KiB reads and decoded in Java: the
    // library's nfct_query parsed every entry into an object and called back into Java for it,
    // which capped a dump at ~170 000 entries/s (docs/benchmarks.md).
    int seq = nextDumpSeq++;
    ByteBuffer b =
        dumpRequest.getByteBuffer(0, NLMSG_HDRLEN + NFGENMSG_LEN).order(ByteOrder.nativeOrder());
    putHeader(b, IPCTNL_MSG_CT_GET, DUMP_REQUEST, seq, 0); // AF_UNSPEC: IPv4 and IPv6
    if (libc.send(dumpFd, dumpRequest, new NativeLong(NLMSG_HDRLEN + NFGENMSG_LEN), 0).longValue()
        < 0) throw dumpFailed(Native.getLastError());
    List<ConntrackEntry> entries = new ArrayList<>();
    while (true) {
      long n = libc.recv(dumpFd, dumpBuffer, new NativeLong(DUMP_BUFFER_BYTES), 0).longValue();
      if (n < 0) {
        int e = Native.getLastError();
        if (e == LibC.EINTR) continue;
        throw dumpFailed(e);
      }
      ByteBuffer view = dumpBuffer.getByteBuffer(0, n).order(ByteOrder.nativeOrder());
      for (int o = 0; o + NLMSG_HDRLEN <= n; ) {
        int len = view.getInt(o);
        if (len < NLMSG_HDRLEN || o + len > n) break; // a garbled header: the rest of this read
        short type = view.getShort(o + 4);
        if (view.getInt(o + 8) == seq) { // else left from an earlier, failed dump
          if (type == NLMSG_DONE) return entries;
          if (type == NLMSG_ERROR) {
            int errno = -view.getInt(o + NLMSG_HDRLEN);
            if (errno != 0) throw dumpFailed(errno);
          } else {
            ConntrackEntry e = dumpedEntry(view.slice(o, len).order(ByteOrder.nativeOrder()), o);
            if (e == null) skipped.incrementAndGet();
            else entries.add(e);
          }
        }
        o += align(len);
      }
    }
  }

  /**
   * An entry of the dump, decoded in Java; should the decoder not make sense of it, through the
   * library's parser, as events are read ({@link #read}).
   */
  private ConntrackEntry dumpedEntry(ByteBuffer message, int offset) {
    ConntrackEntry e = CtNetlinkDecoder.decode(message);
    if (e != null) return e;
    synchronized (this) { // the codec is the writes'
      return dumpedThroughLibrary(offset);
    }
  }

  private ConntrackEntry dumpedThroughLibrary(int offset) {
    Pointer ct = nfct.nfct_new();
    try {
      if (nfct.nfct_nlmsg_parse(dumpBuffer.share(offset), ct) < 0) return null;
      return codec.toEntry(ct);
    } catch (Exception ex) { // one unreadable entry must not end the dump
      LOG.warn("cannot read a dumped conntrack entry", ex);
      return null;
    } finally {
      nfct.nfct_destroy(ct);
    }
  }

  private ConntrackException dumpFailed(int errno) {
    return new ConntrackException(
        "conntrack dump failed: " + libc.strerror(errno) + hint(errno), errno);
  }

  /**
   * The dump as the library reads it: what {@link #dump} is compared with in the tests. Only on a
   * handle that has not run {@link #dump}: the kernel sizes a dump's batches for the largest read
   * the socket has seen (32 KiB after ours), and the library reads 8 KiB, losing the rest of each.
   */
  List<ConntrackEntry> dumpThroughLibrary() {
    synchronized (dumpLock) {
      synchronized (this) {
        return dumpThroughLibraryLocked();
      }
    }
  }

  private List<ConntrackEntry> dumpThroughLibraryLocked() {
    ensureOpen();
    List<ConntrackEntry> entries = new ArrayList<>();
    dumpInto = entries;
    try (Memory family = new Memory(4)) {
      family.setInt(0, 0); // AF_UNSPEC: IPv4 and IPv6
      int rc = nfct.nfct_query(dumpHandle, NFCT_Q_DUMP, family);
      rethrowCallbackError();
      if (rc != 0) throw dumpFailed(Native.getLastError());
    } finally {
      dumpInto = null;
    }
    return entries;
  }

  private int dumped(Pointer nlh, int type, Pointer ct, Pointer data) {
    try {
      ConntrackEntry e = read(codec, nlh, ct);
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

  /**
   * The entry of a message the library has parsed into {@code ct}: read from the message's bytes in
   * Java (CtNetlinkDecoder), or, should that not make sense of it, from the library's object.
   */
  static ConntrackEntry read(NfctCodec codec, Pointer nlh, Pointer ct)
      throws java.net.UnknownHostException {
    ConntrackEntry e = CtNetlinkDecoder.decode(nlh.getByteBuffer(0, nlh.getInt(0) & 0xffffffffL));
    return e != null ? e : codec.toEntry(ct);
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
    Outcome o = write(List.of(new Change(entry, false)))[0];
    if (o.errno != 0) throw failed(o.op, entry, o.errno);
  }

  @Override
  public synchronized List<ConntrackException> writeAll(List<Change> changes) {
    ensureOpen();
    Outcome[] outcomes = write(changes);
    List<ConntrackException> out = new ArrayList<>(changes.size());
    for (int i = 0; i < outcomes.length; i++) {
      Outcome o = outcomes[i];
      boolean missing =
          changes.get(i).delete() && o.errno == LibC.ENOENT; // as delete(): no failure
      out.add(o.errno == 0 || missing ? null : failed(o.op, changes.get(i).entry(), o.errno));
    }
    return out;
  }

  /** What became of one change: the last request sent for it and its errno (0: done). */
  private record Outcome(String op, int errno) {}

  /**
   * The changes as batches of ctnetlink requests, each batch one send and one pass over the
   * acknowledgements. A change to an entry that a change before it in the same batch touches starts
   * a new batch: a create answered EEXIST is retried as an update after the batch, and must not
   * pass a later change of its own entry.
   */
  private Outcome[] write(List<Change> changes) {
    Outcome[] out = new Outcome[changes.size()];
    int from = 0;
    while (from < changes.size()) {
      Set<ConntrackEntry.Key> keys = new HashSet<>();
      int to = from;
      while (to < changes.size()
          && to - from < BATCH_REQUESTS
          && keys.add(changes.get(to).entry().key())) to++;
      writeDistinct(changes.subList(from, to), out, from);
      from = to;
    }
    return out;
  }

  /**
   * Changes of distinct entries: every create and delete at once; the creates answered EEXIST as
   * updates of the dynamic part; those answered EBUSY (the kernel has SEEN_REPLY/ASSURED bits the
   * entry lacks, which cannot be cleared) once more without the status, keeping the kernel's bits.
   */
  private void writeDistinct(List<Change> run, Outcome[] out, int base) {
    List<Request> first = new ArrayList<>(run.size());
    for (Change c : run)
      first.add(
          c.delete()
              ? new Request(IPCTNL_MSG_CT_DELETE, ACK_REQUEST, c.entry(), NfctCodec.Part.KEY)
              : new Request(IPCTNL_MSG_CT_NEW, CREATE_REQUEST, c.entry(), NfctCodec.Part.ALL));
    int[] errno = send(first);
    List<Integer> existing = new ArrayList<>();
    for (int i = 0; i < run.size(); i++) {
      out[base + i] = new Outcome(run.get(i).delete() ? "delete" : "create", errno[i]);
      if (!run.get(i).delete() && errno[i] == LibC.EEXIST) existing.add(i);
    }
    for (NfctCodec.Part part :
        List.of(NfctCodec.Part.DYNAMIC, NfctCodec.Part.DYNAMIC_WITHOUT_STATUS)) {
      if (existing.isEmpty()) break;
      List<Request> updates = new ArrayList<>(existing.size());
      for (int i : existing)
        updates.add(new Request(IPCTNL_MSG_CT_NEW, ACK_REQUEST, run.get(i).entry(), part));
      errno = send(updates);
      List<Integer> busy = new ArrayList<>();
      for (int k = 0; k < existing.size(); k++) {
        int i = existing.get(k);
        out[base + i] = new Outcome("update", errno[k]);
        if (errno[k] == LibC.EBUSY) busy.add(i);
      }
      existing = busy;
    }
    for (Outcome o : java.util.Arrays.copyOfRange(out, base, base + run.size()))
      if (o.errno == 0) writes.incrementAndGet();
  }

  /** One ctnetlink request: message type, flags, and what of the entry it carries. */
  private record Request(int type, short flags, ConntrackEntry entry, NfctCodec.Part part) {}

  /**
   * Sends the requests on the write socket, as many per send as fit the buffer, and returns each
   * one's errno from its acknowledgement (0: done).
   */
  private int[] send(List<Request> requests) {
    int[] errno = new int[requests.size()];
    int i = 0;
    while (i < requests.size()) {
      int start = i;
      int firstSeq = nextSeq;
      int offset = 0;
      int last = -1; // the last request of this send, and where its header is
      int lastOffset = 0;
      boolean[] sent = new boolean[Math.min(BATCH_REQUESTS, requests.size() - start)];
      while (i < requests.size() && i - start < sent.length) {
        Request r = requests.get(i);
        ByteBuffer b = sendView.clear().position(offset);
        // no acknowledgement asked: one recv per request cost a fifth of a bulk receiver's time
        short flags = (short) (r.flags() & ~NLM_F_ACK);
        putHeader(b, r.type(), flags, nextSeq++, r.entry().family());
        if (CtNetlinkEncoder.encodes(r.entry())) {
          // in Java: the library's object costs some 20 native calls per entry (CtNetlinkEncoder)
          CtNetlinkEncoder.encode(b, r.entry(), r.part());
          b.putInt(offset, b.position() - offset);
          sent[i - start] = true;
          last = i - start;
          lastOffset = offset;
          offset = align(b.position());
        } else {
          Pointer nlh = sendBuffer.share(offset);
          Pointer ct = codec.build(r.entry(), r.part());
          try {
            if (nfct.nfct_nlmsg_build(nlh, ct) < 0) {
              int e = Native.getLastError();
              errno[i] = e != 0 ? e : LibC.EINVAL;
            } else {
              nlh.setShort(NLMSG_FLAGS_OFFSET, flags); // the library sets the flags it likes
              sent[i - start] = true;
              last = i - start;
              lastOffset = offset;
              offset += align(nlh.getInt(0));
            }
          } finally {
            nfct.nfct_destroy(ct);
          }
        }
        i++;
      }
      if (last < 0) continue; // nothing could be encoded
      int lastFlags = sendView.getShort(lastOffset + NLMSG_FLAGS_OFFSET);
      sendView.putShort(lastOffset + NLMSG_FLAGS_OFFSET, (short) (lastFlags | NLM_F_ACK));
      exchange(offset, firstSeq, sent, last, errno, start);
    }
    return errno;
  }

  /**
   * One send of {@code length} bytes, then the answers: the kernel handles a send's requests in
   * order before the send returns, answers each failed one with its error, and the last ({@code
   * last}, the only one asking for it) with its acknowledgement. A request not answered before that
   * acknowledgement succeeded.
   */
  private void exchange(
      int length, int firstSeq, boolean[] sent, int last, int[] errno, int start) {
    long rc = libc.send(writeFd, sendBuffer, new NativeLong(length), 0).longValue();
    if (rc < 0) {
      int e = Native.getLastError();
      for (int k = 0; k < sent.length; k++) if (sent[k]) errno[start + k] = e != 0 ? e : LibC.EIO;
      return;
    }
    boolean[] answered = new boolean[sent.length];
    while (!answered[last]) {
      long n = libc.recv(writeFd, receiveBuffer, new NativeLong(BATCH_BYTES), 0).longValue();
      if (n < 0) {
        int e = Native.getLastError();
        if (e == LibC.EINTR) continue;
        // acknowledgements lost (ENOBUFS): what became of those requests is unknown
        for (int k = 0; k < sent.length; k++)
          if (sent[k] && !answered[k]) errno[start + k] = e != 0 ? e : LibC.EIO;
        return;
      }
      for (int o = 0; o + NLMSG_HDRLEN <= n; ) {
        int len = receiveBuffer.getInt(o);
        if (len < NLMSG_HDRLEN) break;
        int k = receiveBuffer.getInt(o + 8) - firstSeq;
        if (receiveBuffer.getShort(o + 4) == NLMSG_ERROR
            && k >= 0
            && k < sent.length
            && sent[k]
            && !answered[k]) {
          answered[k] = true;
          errno[start + k] = -receiveBuffer.getInt(o + NLMSG_HDRLEN);
        }
        o += align(len);
      }
    }
  }

  /**
   * A ctnetlink request's netlink and nfnetlink headers, the length set to the headers alone (a
   * request with attributes sets it once they are written).
   */
  private static void putHeader(ByteBuffer b, int type, short flags, int seq, int family) {
    b.putInt(NLMSG_HDRLEN + NFGENMSG_LEN)
        .putShort((short) ((NFNL_SUBSYS_CTNETLINK << 8) | type))
        .putShort(flags)
        .putInt(seq)
        .putInt(0) // to the kernel
        .put((byte) family)
        .put((byte) 0) // NFNETLINK_V0
        .putShort((short) 0); // res_id
  }

  private static int align(int len) {
    return (len + 3) & ~3;
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
    int errno = write(List.of(new Change(entry, true)))[0].errno;
    if (errno == LibC.ENOENT) {
      return false;
    }
    if (errno != 0) {
      throw failed("delete", entry, errno);
    }
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
  public void followNewAndUpdates(boolean follow) {
    events.followNewAndUpdates(follow);
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
    synchronized (dumpLock) { // a dump in progress ends first
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        events.stop();
        nfct.nfct_close(writeHandle);
        nfct.nfct_close(dumpHandle);
      }
    }
    events.join(CLOSE_WAIT);
  }
}
