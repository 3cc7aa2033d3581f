package dev.carpoperator.agent.engine.plumbing;

import dev.carpoperator.agent.Fatal;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * How the engines run a task on their single loop thread: an executor would swallow what a task
 * throws, and the loop (an election, the sync) would stop unnoticed. A {@link RuntimeException} is
 * handed to {@code onException} (which logs it) and the loop goes on; an {@link Error} ends the
 * agent ({@link Fatal#exit}): a broken engine must not hold the virtual addresses.
 */
public final class LoopGuard {
  private final String where;
  private final Consumer<RuntimeException> onException;
  private final BiConsumer<String, Error> fatal;

  /**
   * @param where what failed, for {@link Fatal#exit} ("the CARP engine", "the sync loop")
   * @param onException what to do with an exception a task threw (log it)
   */
  public LoopGuard(String where, Consumer<RuntimeException> onException) {
    this(where, onException, Fatal::exit);
  }

  LoopGuard(String where, Consumer<RuntimeException> onException, BiConsumer<String, Error> fatal) {
    this.where = where;
    this.onException = onException;
    this.fatal = fatal;
  }

  /** Runs {@code task} here, guarded. */
  public void run(Runnable task) {
    try {
      task.run();
    } catch (RuntimeException e) {
      onException.accept(e);
    } catch (Error e) {
      fatal.accept(where, e);
      throw e;
    }
  }

  /** {@code task}, guarded, for an executor. */
  public Runnable wrap(Runnable task) {
    return () -> run(task);
  }

  /** Queues {@code task} (guarded) on {@code loop}; false if the loop is shut down (closing). */
  public boolean post(Executor loop, Runnable task) {
    try {
      loop.execute(wrap(task));
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }
}
