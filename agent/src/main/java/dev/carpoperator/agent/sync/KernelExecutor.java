package dev.carpoperator.agent.sync;

import java.util.ArrayList;
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
    // consecutive writes go to the kernel together (one round trip, not one per state)
    List<KernelEffect.Write> run = new ArrayList<>();
    for (KernelEffect a : effects) {
      switch (a) {
        case KernelEffect.Write w -> run.add(w);
      }
    }
    write(run);
    outcomes.executed();
  }

  private void write(List<KernelEffect.Write> run) {
    if (run.isEmpty()) return;
    List<ConntrackKernel.Change> changes = new ArrayList<>(run.size());
    for (KernelEffect.Write w : run)
      changes.add(new ConntrackKernel.Change(w.entry(), w instanceof KernelEffect.Delete));
    List<ConntrackException> failures = kernel.writeAll(changes);
    for (int i = 0; i < run.size(); i++) {
      ConntrackException e = failures.get(i);
      if (e == null) outcomes.written(run.get(i));
      else outcomes.writeFailed(run.get(i), e);
    }
    run.clear();
  }
}
