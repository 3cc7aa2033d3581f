package dev.carpoperator.testing;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * A background task run every {@code period} until closed: the samplers of the torture runs
 * (holders of the addresses, sessions, agents' memory). A failing run (a command that timed out on
 * a loaded machine) is handed to {@code onError} and the next one still comes; closing interrupts
 * the sleep and waits for the thread.
 */
public final class Periodic implements AutoCloseable {
  private final Thread thread;
  private volatile boolean stop;

  private Periodic(
      String name, Duration period, Runnable task, Consumer<RuntimeException> onError) {
    this.thread =
        Thread.ofPlatform()
            .daemon()
            .name(name)
            .unstarted(
                () -> {
                  while (!stop) {
                    try {
                      task.run();
                    } catch (RuntimeException e) {
                      if (!stop) onError.accept(e);
                    }
                    try {
                      Thread.sleep(period.toMillis());
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
  }

  /** Starts a thread named {@code name} running {@code task} now and then every {@code period}. */
  public static Periodic start(
      String name, Duration period, Runnable task, Consumer<RuntimeException> onError) {
    Periodic p = new Periodic(name, period, task, onError);
    p.thread.start();
    return p;
  }

  @Override
  public void close() {
    stop = true;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
