package dev.carpoperator.agent.sync;

import java.util.List;
import java.util.Objects;

/**
 * Carries out the {@link KernelEffect}s of {@link SyncCore} on the kernel, in order, and reports
 * each outcome to the core: nothing is decided here. Runs on the thread that runs the core.
 */
public final class KernelExecutor {

  /** Where the outcomes go ({@link SyncCore} implements it). */
  public interface Outcomes {
    void written(KernelEffect.Write write);

    void writeFailed(KernelEffect.Write write, ConntrackException e);

    void dumped(KernelEffect.DumpForBulk dump, List<ConntrackEntry> table);

    void dumpFailed(KernelEffect.DumpForBulk dump, ConntrackException e);

    /** Every action of the list has been carried out and its outcome reported. */
    void executed();
  }

  private final ConntrackKernel kernel;
  private final Outcomes outcomes;

  public KernelExecutor(ConntrackKernel kernel, Outcomes outcomes) {
    this.kernel = Objects.requireNonNull(kernel);
    this.outcomes = Objects.requireNonNull(outcomes);
  }

  public void execute(List<KernelEffect> effects) {
    for (KernelEffect a : effects) {
      switch (a) {
        case KernelEffect.Write w -> write(w);
        case KernelEffect.DumpForBulk d -> dump(d);
      }
    }
    outcomes.executed();
  }

  private void write(KernelEffect.Write w) {
    try {
      switch (w) {
        case KernelEffect.Create c -> kernel.apply(c.entry());
        case KernelEffect.Update u -> kernel.apply(u.entry());
        case KernelEffect.Delete d -> kernel.delete(d.entry());
      }
    } catch (ConntrackException e) {
      outcomes.writeFailed(w, e);
      return;
    }
    outcomes.written(w);
  }

  private void dump(KernelEffect.DumpForBulk d) {
    List<ConntrackEntry> table;
    try {
      table = kernel.dump();
    } catch (ConntrackException e) {
      outcomes.dumpFailed(d, e);
      return;
    }
    outcomes.dumped(d, table);
  }
}
