package dev.carpoperator.api.v1alpha1;

import java.util.Arrays;
import java.util.Optional;

/**
 * Where a node's state-sync start-up bulk update stands, as {@link NodeVhidStatus#getSync()}
 * carries it. The field stays a plain string on the wire (an agent newer than the operator may
 * report a state this one does not know); {@link #parse} is the one way to read it.
 */
public enum BulkSyncState {
  /** Not started, or the sync runs without asking for a bulk update. */
  IDLE("idle"),
  /** The node asked its peers for their table and waits for the start of one. */
  REQUESTING("requesting"),
  /** A peer's table is coming in. */
  RECEIVING("receiving"),
  /** The table is complete. */
  DONE("done"),
  /** No peer answered, or the bulk stalled, in time: the node goes on with what it has. */
  TIMED_OUT("timed_out");

  private final String wire;

  BulkSyncState(String wire) {
    this.wire = wire;
  }

  /** The value in {@code status.nodes[].sync}. */
  public String wire() {
    return wire;
  }

  /** The state a {@code status.nodes[].sync} value names; empty when absent or unknown. */
  public static Optional<BulkSyncState> parse(String wire) {
    return Arrays.stream(values()).filter(s -> s.wire.equals(wire)).findFirst();
  }

  /** The node has not got its peers' connection states yet, and CARP holds it demoted. */
  public boolean pending() {
    return this == REQUESTING || this == RECEIVING;
  }
}
