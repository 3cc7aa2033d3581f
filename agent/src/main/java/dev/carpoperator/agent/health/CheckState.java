package dev.carpoperator.agent.health;

/**
 * Whether one check passes, from the results of its runs (pure). Thresholds as in Kubernetes
 * probes, except the first run: it decides at once, so that a restarted node whose target is down
 * is demoted before a backup's master-down timer fires, and a check added to a healthy cluster
 * demotes nobody while it has not run.
 */
public final class CheckState {
  private final CheckSpec spec;
  private Boolean passing; // null until the first run
  private int streak; // runs in a row that disagree with the current verdict
  private String lastError = "not run yet";

  public CheckState(CheckSpec spec) {
    this.spec = spec;
  }

  public CheckSpec spec() {
    return spec;
  }

  /**
   * Records one run; returns true when the verdict changed (including the first one).
   *
   * @param error null when the run passed, else why it failed ("connection refused", "HTTP 503")
   */
  public boolean record(String error) {
    boolean ok = error == null;
    if (!ok) lastError = error;
    if (passing == null) {
      passing = ok;
      streak = 0;
      return true;
    }
    if (ok == passing) {
      streak = 0;
      return false;
    }
    streak++;
    if (streak >= (ok ? spec.successThreshold() : spec.failureThreshold())) {
      passing = ok;
      streak = 0;
      return true;
    }
    return false;
  }

  /** False only once the check failed (an unrun check demotes nobody). */
  public boolean passing() {
    return passing == null || passing;
  }

  /** Whether it has run at all. */
  public boolean known() {
    return passing != null;
  }

  /** Why the last failed run failed. */
  public String lastError() {
    return lastError;
  }
}
