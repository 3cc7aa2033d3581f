package dev.carpoperator.agent.sync;

/**
 * Where this node's own bulk update (receiving the peers' table at start) stands
 * (docs/protocols/pfsync.md §9).
 */
public enum BulkState {
  /** Not started, or the sync runs without asking for a bulk update. */
  IDLE,
  /** UPD_REQ(0,0) sent, no BUS START yet; repeated every retry interval. */
  REQUESTING,
  /** A peer's BUS START arrived; its states are coming. */
  RECEIVING,
  /** The peer's BUS END arrived: the table is complete. */
  DONE,
  /**
   * No peer answered, or the bulk stalled, within the timeout: we go on with what we have (OpenBSD
   * does the same).
   */
  TIMED_OUT;

  /** CARP stays demoted while true. */
  public boolean pending() {
    return this == REQUESTING || this == RECEIVING;
  }
}
