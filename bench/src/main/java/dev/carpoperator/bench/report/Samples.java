package dev.carpoperator.bench.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** Order statistics of a sample, nearest-rank (the p95 of 30 samples is the 29th smallest). */
public record Samples(List<Double> sorted) {

  public static Samples of(List<Double> values) {
    List<Double> s = new ArrayList<>(values);
    Collections.sort(s);
    return new Samples(List.copyOf(s));
  }

  public int count() {
    return sorted.size();
  }

  /** Nearest-rank percentile, {@code p} in (0, 100]; NaN for an empty sample. */
  public double percentile(double p) {
    if (sorted.isEmpty()) return Double.NaN;
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  public double p50() {
    return percentile(50);
  }

  public double p95() {
    return percentile(95);
  }

  public double max() {
    return sorted.isEmpty() ? Double.NaN : sorted.getLast();
  }

  public double min() {
    return sorted.isEmpty() ? Double.NaN : sorted.getFirst();
  }

  public double mean() {
    return sorted.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }

  /** A number for a table cell: no decimals from 100 up, one below, "–" when there is nothing. */
  public static String fmt(double v) {
    if (Double.isNaN(v)) return "–";
    return Math.abs(v) >= 100
        ? String.format(Locale.ROOT, "%,.0f", v)
        : String.format(Locale.ROOT, "%.1f", v);
  }
}
