package dev.carpoperator.agent;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way an {@link Error} ends the agent. An Error (out of memory, stack overflow, a broken
 * installation) leaves the JVM in an unknown state: logging it and going on would keep a half-alive
 * agent holding the addresses, with a sync thread or a receive loop gone. So the process exits,
 * through the shutdown hooks (the bow-out hands the addresses to a backup at once), and the
 * supervisor (kubelet, systemd) starts it afresh. Out-of-memory errors thrown by the JVM itself
 * never get here: the JVM runs with {@code -XX:+ExitOnOutOfMemoryError} (bin/carp-agent, the
 * image).
 */
public final class Fatal {
  /** EX_SOFTWARE (sysexits.h): an internal error. */
  public static final int EXIT_STATUS = 70;

  private static final Logger LOG = LoggerFactory.getLogger(Fatal.class);
  private static final AtomicBoolean EXITING = new AtomicBoolean();

  private Fatal() {}

  /**
   * Installs {@link #exit} as the handler of Errors that end a thread (other throwables: logged, as
   * the JVM would).
   */
  public static void installUncaughtHandler() {
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, t) -> {
          if (t instanceof Error e) {
            exit("thread " + thread.getName(), e);
          } else {
            LOG.error("thread {} ended by an exception", thread.getName(), t);
          }
        });
  }

  /**
   * Logs {@code error} and makes the process exit with {@link #EXIT_STATUS}. Returns at once: the
   * exit runs on a thread of its own, because the caller may be a thread the shutdown hooks wait
   * for (the sync loop) or a native callback that must return into C. The caller then rethrows, or
   * returns to C, as it must.
   */
  public static void exit(String where, Error error) {
    if (!EXITING.compareAndSet(false, true)) return;
    try {
      LOG.error("fatal error in {}: the agent exits (status {})", where, EXIT_STATUS, error);
      Thread.ofPlatform().name("carp-agent-fatal").start(() -> System.exit(EXIT_STATUS));
    } catch (
        Error again) { // e.g. no memory for a thread: exit without the hooks rather than not at all
      Runtime.getRuntime().halt(EXIT_STATUS);
    }
  }
}
