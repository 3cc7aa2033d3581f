package dev.carpoperator.bench.report;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What one bench part measured: tables (already formatted cells), the raw samples behind them (so a
 * reader can recompute), plots (PNG files in the same directory) and notes. Written as JSON,
 * rendered to Markdown by {@link ReportWriter}.
 */
public record Result(
    String part,
    String title,
    Instant measuredAt,
    String command,
    Map<String, String> machine,
    List<Table> tables,
    List<Plot> plots,
    Map<String, List<Double>> samples,
    List<String> notes) {

  /** A table: cells are strings so that units and "n/a (why)" can be said where a number cannot. */
  public record Table(String title, List<String> columns, List<List<String>> rows, String note) {}

  /** A PNG file next to the JSON, with the caption the report shows under it. */
  public record Plot(String file, String caption) {}
}
