package dev.carpoperator.bench;

/**
 * One measurement of {@code ./carp bench} (failover, sync, footprint, ...). Each writes one {@code
 * Result}.
 */
public interface BenchPart {
  /** The name on the command line, e.g. {@code failover}. */
  String name();

  /** One line for {@code ./carp bench --help}. */
  String description();

  /** Runs the measurement and records its result with {@link BenchContext#save}. */
  void run(BenchContext ctx) throws Exception;
}
