package dev.carpoperator.operator.status;

import java.time.Duration;

/** What both status aggregators assume about the agents' reports. */
public final class AgentReports {
  /**
   * An agent refreshes every entry at least once a minute; three missed refreshes mean it is gone.
   */
  public static final Duration SILENCE = Duration.ofMinutes(3);

  private AgentReports() {}
}
