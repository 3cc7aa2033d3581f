package dev.carpoperator.agent.net;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.pcap4j.core.BpfProgram.BpfCompileMode;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapHandle.PcapDirection;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface.PromiscuousMode;
import org.pcap4j.core.RawPacketListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link FrameIo} over libpcap through pcap4j 1.8.2: one live handle in immediate mode, used for
 * both sending and receiving, with a BPF filter.
 *
 * <p><b>Own frames.</b> A packet socket never gets back frames it sent itself, and by default the
 * handle captures only the {@link Direction#IN} direction ({@code pcap_setdirection}), so frames
 * that other sockets on this host send out of the interface (another agent process, the kernel) are
 * not delivered either. Use {@link Direction#IN_OUT} only for diagnostics.
 *
 * <p><b>Threads.</b> Receiving runs {@code pcap_loop} on a platform daemon thread (a blocking
 * native call would pin a virtual thread's carrier). {@link #close()} calls {@code pcap_breakloop},
 * joins the thread, then closes the handle. If the loop fails (e.g. the interface was deleted and
 * recreated) the handle is reopened by name every 200 ms until that works. An admin down/up of the
 * link causes no error: capture resumes by itself.
 */
public final class PcapFrameIo implements FrameIo {
  /** BPF for CARP in both families. */
  public static final String CARP_FILTER = "ip proto 112 or ip6 proto 112";

  public static final int SNAPLEN = 1600;

  private static final Logger LOG = LoggerFactory.getLogger(PcapFrameIo.class);
  private static final Duration REOPEN_PAUSE = Duration.ofMillis(200);
  private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(5);

  public enum Direction {
    IN,
    IN_OUT
  }

  private final Builder config;
  private final Object lock = new Object();
  private volatile PcapHandle handle;
  private volatile boolean closed;
  private Thread receiver;

  private final AtomicLong received = new AtomicLong();
  private final AtomicLong receiverFailures = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong sendFailures = new AtomicLong();
  private final AtomicLong loopErrors = new AtomicLong();

  /**
   * An Error thrown by the consumer. The consumer runs in libpcap's callback, under C frames that
   * an exception must not unwind (JNA would only print it and go on), so it is recorded, the loop
   * broken, and the receive thread rethrows it: the thread ends, and in the agent the
   * uncaught-exception handler ends the process.
   */
  private volatile Error consumerError;

  private PcapFrameIo(Builder config) {
    this.config = config;
    this.handle = openHandle(config);
  }

  /** Opens {@code ifName} with the defaults: CARP filter, not promiscuous, inbound only. */
  public static PcapFrameIo open(String ifName) {
    return builder(ifName).open();
  }

  public static Builder builder(String ifName) {
    return new Builder(ifName);
  }

  public String ifName() {
    return config.ifName;
  }

  @Override
  public void send(byte[] ethernetFrame) {
    Objects.requireNonNull(ethernetFrame, "ethernetFrame");
    if (closed) {
      throw new FrameIoException("frame I/O on " + config.ifName + " is closed");
    }
    try {
      handle.sendPacket(ethernetFrame);
      sent.incrementAndGet();
    } catch (PcapNativeException | NotOpenException | RuntimeException e) {
      sendFailures.incrementAndGet();
      throw new FrameIoException(
          "cannot send "
              + ethernetFrame.length
              + "-byte frame on "
              + config.ifName
              + ": "
              + e.getMessage(),
          e);
    }
  }

  @Override
  public void start(Consumer<byte[]> consumer) {
    Objects.requireNonNull(consumer, "consumer");
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("frame I/O on " + config.ifName + " is closed");
      }
      if (receiver != null) {
        throw new IllegalStateException("already receiving on " + config.ifName);
      }
      receiver =
          Thread.ofPlatform()
              .daemon()
              .name("pcap-rx-" + config.ifName)
              .start(() -> receiveLoop(consumer));
    }
  }

  private void receiveLoop(Consumer<byte[]> consumer) {
    RawPacketListener listener = frame -> deliver(consumer, frame);
    while (!closed) {
      PcapHandle h = handle;
      try {
        h.loop(-1, listener);
      } catch (InterruptedException e) {
        // pcap_breakloop: close(), or deliver() after an Error
      } catch (PcapNativeException | NotOpenException | RuntimeException e) {
        if (closed) {
          break;
        }
        loopErrors.incrementAndGet();
        LOG.warn("capture on {} failed, reopening: {}", config.ifName, e.getMessage());
        reopen(h);
      }
      Error e = consumerError;
      if (e != null) {
        throw e;
      }
    }
  }

  private void deliver(Consumer<byte[]> consumer, byte[] frame) {
    received.incrementAndGet();
    try {
      consumer.accept(frame);
    } catch (Exception e) {
      // a hostile or odd frame must not end reception
      long n = receiverFailures.incrementAndGet();
      if (n <= 10 || Long.bitCount(n) == 1) {
        LOG.warn(
            "receiver failed on a {}-byte frame from {} (failure #{})",
            frame.length,
            config.ifName,
            n,
            e);
      }
    } catch (Error e) { // never into C: rethrown by receiveLoop once pcap_loop has returned
      consumerError = e;
      try {
        handle.breakLoop();
      } catch (NotOpenException closing) {
        // closed meanwhile: the loop ends anyway and receiveLoop rethrows
      }
    }
  }

  private void reopen(PcapHandle failed) {
    while (!closed) {
      try {
        Thread.sleep(REOPEN_PAUSE);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      try {
        PcapHandle fresh = openHandle(config);
        synchronized (lock) {
          if (closed) {
            fresh.close();
            return;
          }
          handle = fresh;
        }
        failed.close();
        return;
      } catch (FrameIoException e) {
        LOG.debug("reopen of {} failed: {}", config.ifName, e.getMessage());
      }
    }
  }

  @Override
  public Stats stats() {
    return new Stats(
        received.get(), receiverFailures.get(), sent.get(), sendFailures.get(), loopErrors.get());
  }

  @Override
  public long captureDrops() {
    try {
      return closed ? -1 : handle.getStats().getNumPacketsDropped();
    } catch (PcapNativeException | NotOpenException | RuntimeException e) {
      return -1;
    }
  }

  @Override
  public void close() {
    Thread t;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      t = receiver;
    }
    if (t != null) {
      try {
        handle.breakLoop();
      } catch (NotOpenException e) {
        // already closed by a reopen race; the loop exits on the closed flag
      }
      try {
        if (!t.join(JOIN_TIMEOUT)) {
          // closing under a running pcap_loop would free memory it still uses: leak instead
          LOG.error(
              "receive thread on {} did not stop; leaving the pcap handle open", config.ifName);
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    handle.close();
  }

  private static PcapHandle openHandle(Builder c) {
    PcapHandle h = null;
    try {
      h =
          new PcapHandle.Builder(c.ifName)
              .snaplen(c.snaplen)
              .promiscuousMode(
                  c.promiscuous ? PromiscuousMode.PROMISCUOUS : PromiscuousMode.NONPROMISCUOUS)
              .timeoutMillis(100)
              .immediateMode(true)
              .bufferSize(c.bufferBytes)
              .build();
      if (c.direction == Direction.IN) {
        h.setDirection(PcapDirection.IN);
      }
      if (c.filter != null) {
        h.setFilter(c.filter, BpfCompileMode.OPTIMIZE);
      }
      return h;
    } catch (PcapNativeException | NotOpenException | RuntimeException e) {
      if (h != null) {
        h.close();
      }
      throw new FrameIoException(
          "cannot open " + c.ifName + " for capture (filter '" + c.filter + "'): " + e.getMessage(),
          e);
    }
  }

  /**
   * Options; defaults: {@link #CARP_FILTER}, not promiscuous, {@link Direction#IN}, snaplen 1600.
   */
  public static final class Builder {
    private final String ifName;
    private String filter = CARP_FILTER;
    private boolean promiscuous;
    private Direction direction = Direction.IN;
    private int snaplen = SNAPLEN;
    private int bufferBytes = 2 << 20; // libpcap's default

    private Builder(String ifName) {
      this.ifName = Objects.requireNonNull(ifName, "ifName");
    }

    /** A BPF expression, or null to receive everything. */
    public Builder filter(String bpf) {
      this.filter = bpf;
      return this;
    }

    /**
     * Promiscuous mode is needed only to receive unicast frames for a MAC the NIC does not own
     * (macvlan-less virtual MAC).
     */
    public Builder promiscuous(boolean on) {
      this.promiscuous = on;
      return this;
    }

    public Builder direction(Direction d) {
      this.direction = Objects.requireNonNull(d);
      return this;
    }

    /**
     * The kernel capture ring. libpcap cuts it into slots of the snaplen (on links with offloads),
     * so a large snaplen means few slots: 64 KiB frames in the 2 MiB default leave 32, and a burst
     * beyond that is dropped.
     */
    public Builder bufferBytes(int bytes) {
      if (bytes < (64 << 10)) throw new IllegalArgumentException("buffer too small: " + bytes);
      this.bufferBytes = bytes;
      return this;
    }

    public Builder snaplen(int bytes) {
      this.snaplen = bytes;
      return this;
    }

    /** Opens the interface; sending works at once, receiving after {@link #start}. */
    public PcapFrameIo open() {
      return new PcapFrameIo(this);
    }
  }
}
