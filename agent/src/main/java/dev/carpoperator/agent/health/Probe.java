package dev.carpoperator.agent.health;

/** Runs a check once. The network implementation is {@link NetworkProbe}; tests give their own. */
@FunctionalInterface
public interface Probe {
  /**
   * Blocks at most about {@code spec.timeoutMillis()}.
   *
   * @return null when the check passed, otherwise why it failed, e.g. "connection refused"
   */
  String run(CheckSpec spec);
}
