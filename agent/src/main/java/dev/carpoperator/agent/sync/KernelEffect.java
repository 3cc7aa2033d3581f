package dev.carpoperator.agent.sync;

import java.util.Objects;

/**
 * What {@link SyncCore} asks of the kernel's conntrack table, in the order returned; {@link
 * KernelExecutor} carries it out on a {@link ConntrackKernel} and reports each outcome back. The
 * core has already changed its own table as if every write succeeds; a failure reported back undoes
 * that.
 */
public sealed interface KernelEffect {

  /** A write to the table; {@link #what()} names it in counters and logs (kernel_create, ...). */
  sealed interface Write extends KernelEffect {
    ConntrackEntry entry();

    String what();
  }

  /**
   * Write a state received from a peer that the table does not have (or that replaces one whose NAT
   * differs, after its {@link Delete}).
   */
  record Create(ConntrackEntry entry) implements Write {
    public Create {
      Objects.requireNonNull(entry);
    }

    @Override
    public String what() {
      return "create";
    }
  }

  /** Write a peer's update of a state the table has (status, timeout, TCP state and flags). */
  record Update(ConntrackEntry entry) implements Write {
    public Update {
      Objects.requireNonNull(entry);
    }

    @Override
    public String what() {
      return "update";
    }
  }

  /** Delete the entry with this key (a peer's DEL_C or CLR, or a replaced state). */
  record Delete(ConntrackEntry entry) implements Write {
    public Delete {
      Objects.requireNonNull(entry);
    }

    @Override
    public String what() {
      return "delete";
    }
  }
}
