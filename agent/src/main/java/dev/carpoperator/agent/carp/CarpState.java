package dev.carpoperator.agent.carp;

/**
 * Vhost states with their BSD numbering (the {@code CARP_STATES} strings: INIT 0, BACKUP 1, MASTER
 * 2).
 */
public enum CarpState {
  INIT(0),
  BACKUP(1),
  MASTER(2);

  private final int code;

  CarpState(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }
}
