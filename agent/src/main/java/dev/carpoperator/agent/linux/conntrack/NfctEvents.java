package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.linux.conntrack.NfConntrack.*;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.ConntrackKernel.EventType;
import dev.carpoperator.agent.sync.ConntrackKernel.Listener;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The subscription to the kernel's conntrack events, for {@link NetfilterConntrack#listen}: a
 * netlink socket in the NEW, UPDATE and DESTROY groups, read by the daemon thread {@code
 * conntrack-events}, which waits in poll() together with an eventfd that {@link #stop} writes.
 * Events whose {@code nlmsg_pid} is the write socket's port id were caused by our own writes and
 * are dropped: by a socket filter in the kernel ({@link #attachOwnEventsFilter}), so that a backup
 * applying a bulk update does not read and parse an event for each state it writes, and, should the
 * filter not attach, here (counted in {@link #ownEventsIgnored}). The kernel reports a loss
 * (ENOBUFS, {@link Listener#overrun()}) at the next read, while events queued before the loss may
 * still follow; the socket takes new events again only once it is drained.
 *
 * <p>The callback is the hot path: one {@link ConntrackEntry} per event and nothing else allocated.
 */
final class NfctEvents {
  private static final Logger LOG = LoggerFactory.getLogger(NetfilterConntrack.class);

  /**
   * Event socket receive buffer: holds about 13 000 events (measured) before the kernel drops them
   * (ENOBUFS).
   */
  static final int EVENT_RCVBUF = 8 << 20;

  private final NfConntrack nfct;
  private final NfConntrack.Nfnl nfnl;
  private final LibC libc = LibC.INSTANCE;
  private final NfctCodec codec;
  private final int ownPortId;
  private final AtomicLong skipped;

  final AtomicLong events = new AtomicLong();
  final AtomicLong ownEventsIgnored = new AtomicLong();
  final AtomicLong overruns = new AtomicLong();
  final AtomicLong listenerErrors = new AtomicLong();

  /** A strong reference: libnetfilter_conntrack keeps only the native function pointer. */
  private NfConntrack.Callback2 callback;

  /**
   * An Error thrown in the callback, rethrown by the event loop once nfct_catch has returned (see
   * {@link NetfilterConntrack}: a Java exception must not unwind through the C library's frames).
   */
  private volatile Error callbackError;

  private volatile boolean stopped;
  private Thread thread;

  /** eventfd that wakes the thread's poll on {@link #stop}; -1 once closed (guarded by this). */
  private int wakeFd = -1;

  /**
   * The event socket; -1 before {@link #start} and once the thread has closed it (guarded by this).
   */
  private int eventFd = -1;

  /**
   * @param ownPortId the write socket's netlink port id: events stamped with it are our own
   * @param skipped counts the events that could not be read
   */
  NfctEvents(
      NfConntrack nfct, NfConntrack.Nfnl nfnl, NfctCodec codec, int ownPortId, AtomicLong skipped) {
    this.nfct = nfct;
    this.nfnl = nfnl;
    this.codec = codec;
    this.ownPortId = ownPortId;
    this.skipped = skipped;
  }

  /** Opens the event socket and starts the thread; at most once. */
  synchronized void start(Listener listener) {
    if (thread != null) {
      throw new IllegalStateException("already listening");
    }
    Pointer h =
        NetfilterConntrack.openHandle(
            nfct,
            NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE | NF_NETLINK_CONNTRACK_DESTROY);
    int fd = nfct.nfct_fd(h);
    int granted = nfnl.nfnl_rcvbufsiz(nfct.nfct_nfnlh(h), EVENT_RCVBUF);
    LOG.debug(
        "conntrack event socket: port id {}, receive buffer {} bytes",
        nfnl.nfnl_portid(nfct.nfct_nfnlh(h)),
        granted);
    // non-blocking, so that nfct_catch returns (EAGAIN) once it has drained the socket and the
    // thread can wait in poll() together with the close() wake-up
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
    eventFd = fd;
    attachOwnEventsFilter(fd);
    callback = (nlh, type, ct, data) -> event(listener, nlh, type, ct);
    nfct.nfct_callback_register2(h, NFCT_T_ALL, callback, null);
    thread = new Thread(() -> loop(h, fd, listener), "conntrack-events");
    thread.setDaemon(true);
    thread.start();
  }

  private void loop(Pointer handle, int fd, Listener listener) {
    try (Memory fds =
        new Memory(16)) { // two struct pollfd: the event socket and the wake-up eventfd
      fds.setInt(0, fd);
      fds.setShort(4, LibC.POLLIN);
      synchronized (this) {
        fds.setInt(8, wakeFd);
      }
      fds.setShort(12, LibC.POLLIN);
      while (!stopped) {
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
        if (stopped || fds.getShort(14) != 0) {
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
      synchronized (this) {
        eventFd = -1; // followNewAndUpdates must not touch a closed (or reused) descriptor
      }
      nfct.nfct_close(handle);
      synchronized (this) {
        libc.close(wakeFd);
        wakeFd = -1;
      }
    }
  }

  /**
   * A classic BPF program on the event socket that drops the messages stamped with our write
   * socket's port id (each event is a message of its own). BPF loads words in network order.
   */
  private void attachOwnEventsFilter(int fd) {
    if (ownPortId == 0) return; // 0 marks the events packets cause: never filter those
    int portId =
        ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
            ? Integer.reverseBytes(ownPortId)
            : ownPortId;
    try (Memory program = new Memory(4 * 8);
        Memory fprog = new Memory(16)) {
      instruction(program, 0, 0x20, 0, 0, 12); // ld [12]: nlmsghdr.nlmsg_pid
      instruction(program, 1, 0x15, 0, 1, portId); // jeq #portId: next (drop), else skip it
      instruction(program, 2, 0x06, 0, 0, 0); // ret #0: drop
      instruction(program, 3, 0x06, 0, 0, -1); // ret #-1: the whole message
      fprog.clear();
      fprog.setShort(0, (short) 4); // struct sock_fprog: len, then the pointer (aligned)
      fprog.setPointer(Native.POINTER_SIZE, program);
      if (libc.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_ATTACH_FILTER, fprog, (int) fprog.size())
          < 0)
        LOG.warn(
            "conntrack events: cannot attach the filter of our own events ({}); they are dropped"
                + " after reading instead",
            libc.strerror(Native.getLastError()));
    }
  }

  /**
   * Leaves ({@code false}) or rejoins ({@code true}) the NEW and UPDATE groups; DESTROY stays. The
   * kernel builds an event only when its group has a listener, and building them was a quarter of
   * the time a backup spent writing a bulk update's states (for events our own socket filter then
   * dropped). The kernel's mask of listeners is one for all network namespaces: another NEW
   * listener anywhere on the machine keeps the events built. Events queued before leaving are still
   * read. No-op before {@link #start} and after the socket is closed.
   */
  synchronized void followNewAndUpdates(boolean follow) {
    if (eventFd < 0) return;
    int option = follow ? LibC.NETLINK_ADD_MEMBERSHIP : LibC.NETLINK_DROP_MEMBERSHIP;
    try (Memory group = new Memory(4)) {
      for (int g : new int[] {NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE}) {
        group.setInt(0, g);
        if (libc.setsockopt(eventFd, LibC.SOL_NETLINK, option, group, 4) < 0) {
          int errno = Native.getLastError();
          throw new ConntrackException(
              "cannot "
                  + (follow ? "rejoin" : "leave")
                  + " the conntrack event group "
                  + g
                  + ": "
                  + libc.strerror(errno),
              errno);
        }
      }
    }
  }

  /** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
  private static void instruction(Memory program, int index, int code, int jt, int jf, int k) {
    long at = index * 8L;
    program.setShort(at, (short) code);
    program.setByte(at + 2, (byte) jt);
    program.setByte(at + 3, (byte) jf);
    program.setInt(at + 4, k);
  }

  private int event(Listener listener, Pointer nlh, int type, Pointer ct) {
    try {
      if (nlh.getInt(12) == ownPortId) { // nlmsghdr.nlmsg_pid
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
      ConntrackEntry e = t == null ? null : NetfilterConntrack.read(codec, nlh, ct);
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

  private void rethrowCallbackError() {
    Error e = callbackError;
    if (e != null) {
      callbackError = null;
      throw e;
    }
  }

  /** Wakes the thread's poll so that it ends; idempotent. The thread closes the socket. */
  synchronized void stop() {
    stopped = true;
    if (wakeFd >= 0) {
      libc.write(wakeFd, new byte[] {1, 0, 0, 0, 0, 0, 0, 0}, new NativeLong(8)); // any nonzero u64
    }
  }

  /** Waits for the thread to end after {@link #stop}, at most {@code wait}. */
  void join(Duration wait) {
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t == null || t == Thread.currentThread()) {
      return;
    }
    try {
      t.join(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) {
      LOG.warn(
          "conntrack event thread still running {} after close (blocked in the listener?)", wait);
    }
  }
}
