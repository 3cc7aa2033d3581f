package dev.carpoperator.agent.linux.sched;

import static net.logstash.logback.argument.StructuredArguments.kv;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts the threads a state travels through (conntrack events in, the sync loop, sync packets in)
 * under Linux's real-time round-robin scheduler, as conntrackd's {@code Scheduler} option does (and
 * as it runs by default): on a busy firewall they then get a core before ordinary work, and a
 * state's way to the peer does not wait behind it. Only these threads, never the whole JVM: its
 * compiler and garbage-collector threads stay at normal priority, so a busy sync thread cannot hold
 * them off its own core.
 *
 * <p>It needs {@code CAP_SYS_NICE} (root has it). Without it, or with a priority the kernel
 * refuses, the thread stays at normal priority and one warning says why: a missing capability must
 * not stop the sync.
 */
public final class RealtimeThreads {
  private static final Logger log = LoggerFactory.getLogger(RealtimeThreads.class);

  /** Linux's SCHED_RR. */
  static final int SCHED_RR = 2;

  static final int EPERM = 1;

  /** Normal priority: nothing is changed. */
  public static final RealtimeThreads OFF = new RealtimeThreads(0);

  private final int priority;
  private final ThreadLocal<Boolean> entered = ThreadLocal.withInitial(() -> false);
  private final AtomicBoolean warned = new AtomicBoolean();

  /** {@code priority}: 1..99, the SCHED_RR priority; 0 leaves threads as they are. */
  public RealtimeThreads(int priority) {
    if (priority < 0 || priority > 99)
      throw new IllegalArgumentException(
          "real-time priority " + priority + " is out of range: 1..99, or 0 for none");
    this.priority = priority;
  }

  public int priority() {
    return priority;
  }

  /**
   * Called by a thread on its way: the first call on each thread moves that thread to SCHED_RR;
   * later calls cost a thread-local read.
   */
  public void enter(String role) {
    if (priority == 0 || entered.get()) return;
    entered.set(true);
    String error = applyToCurrentThread(priority);
    if (error == null) {
      log.info(
          "thread runs at real-time priority",
          kv("event", "realtime-thread"),
          kv("thread", role),
          kv("priority", priority));
    } else if (warned.compareAndSet(false, true)) {
      log.warn(
          "cannot give the sync threads real-time priority; they run at normal priority",
          kv("event", "realtime-refused"),
          kv("thread", role),
          kv("priority", priority),
          kv("error", error));
    }
  }

  /** Null when the calling thread now runs SCHED_RR at {@code priority}, else why not. */
  static String applyToCurrentThread(int priority) {
    try {
      // pid 0: the calling thread (Linux schedules threads, and takes a thread id here)
      if (Sched.INSTANCE.sched_setscheduler(0, SCHED_RR, new int[] {priority}) == 0) return null;
      int errno = Native.getLastError();
      return errno == EPERM
          ? "not permitted: the agent needs CAP_SYS_NICE (root, or the capability added)"
          : "sched_setscheduler: errno " + errno + " (" + Sched.INSTANCE.strerror(errno) + ")";
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      return "no native scheduler call: " + e;
    }
  }

  /** The calling thread's scheduling policy (0 normal, 2 SCHED_RR); -1 when it cannot be read. */
  static int currentPolicy() {
    return Sched.INSTANCE.sched_getscheduler(0);
  }

  /** The calling thread's SCHED_RR/FIFO priority (0 for normal threads); -1 when unreadable. */
  static int currentPriority() {
    int[] param = new int[1];
    return Sched.INSTANCE.sched_getparam(0, param) == 0 ? param[0] : -1;
  }

  interface Sched extends Library {
    Sched INSTANCE = Native.load("c", Sched.class);

    /** {@code param}: struct sched_param, one int (sched_priority). */
    int sched_setscheduler(int pid, int policy, int[] param);

    int sched_getscheduler(int pid);

    int sched_getparam(int pid, int[] param);

    String strerror(int errnum);
  }
}
