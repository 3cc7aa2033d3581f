package dev.carpoperator.agent.carp;

/**
 * Machine-readable cause of a state change; {@link #code()} is stable and meant for logs, events
 * and metrics.
 */
public enum TransitionReason {
  /** INIT → BACKUP: vhost started with its link up. */
  STARTUP("startup"),
  /** INIT → BACKUP: the parent link came back. */
  LINK_UP("link-up"),
  /** → INIT: the parent link went down (no bow-out can be sent). */
  LINK_DOWN("link-down"),
  /** → INIT: administrative shutdown (after one bow-out advert). */
  SHUTDOWN("shutdown"),
  /** BACKUP → MASTER: no advert from a master within the master-down interval. */
  MASTER_DOWN_TIMEOUT("master-down-timeout"),
  /**
   * BACKUP → MASTER: preempt is on and we advertise faster than the current master (same or lower
   * demotion).
   */
  PREEMPT("preempt"),
  /** BACKUP → MASTER: the master is more demoted than we are (regardless of preempt). */
  PEER_DEMOTED("peer-demoted"),
  /** BACKUP → MASTER: the master sent a bow-out advert (advbase 255, advskew 255). */
  BOW_OUT_RECEIVED("bow-out-received"),
  /**
   * BACKUP → MASTER: the master's interval is longer than our master-down interval; it would time
   * out anyway.
   */
  MASTER_TOO_SLOW("master-too-slow"),
  /** MASTER → BACKUP: another master advertises faster, with the same or lower demotion. */
  HIGHER_PRIORITY_MASTER("higher-priority-master"),
  /**
   * MASTER → BACKUP: another master with exactly our interval and demotion; both step down (BSD
   * behaviour).
   */
  EQUAL_PRIORITY_MASTER("equal-priority-master"),
  /** MASTER → BACKUP: another master is less demoted than we are. */
  DEMOTED("demoted");

  private final String code;

  TransitionReason(String code) {
    this.code = code;
  }

  public String code() {
    return code;
  }
}
