package dev.carpoperator.bench.report;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.BoxChart;
import org.knowm.xchart.BoxChartBuilder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG plots for the report (XChart, headless). Each method writes {@code dir/file} and returns the
 * file name.
 */
public final class Plots {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 500;

  private Plots() {}

  /** One box per series (samples in the same unit), e.g. failover times per implementation. */
  public static String box(
      Path dir, String file, String title, String yTitle, Map<String, List<Double>> series) {
    BoxChart chart =
        new BoxChartBuilder().width(WIDTH).height(HEIGHT).title(title).yAxisTitle(yTitle).build();
    chart.getStyler().setChartBackgroundColor(Color.WHITE).setLegendVisible(false);
    if (series.size() > 6)
      chart.getStyler().setXAxisLabelRotation(30); // long names side by side would overlap
    series.forEach(
        (name, values) -> {
          if (!values.isEmpty())
            chart.addSeries(
                name, new ArrayList<>(values)); // XChart calls contains(null): no immutable lists
        });
    return write(chart, dir, file);
  }

  /** Empirical CDF per series: x the value, y the share of samples at or below it. */
  public static String cdf(
      Path dir, String file, String title, String xTitle, Map<String, List<Double>> series) {
    XYChart chart =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .xAxisTitle(xTitle)
            .yAxisTitle("share of samples ≤ x")
            .build();
    chart
        .getStyler()
        .setChartBackgroundColor(Color.WHITE)
        .setLegendPosition(LegendPosition.InsideSE);
    series.forEach(
        (name, values) -> {
          if (values.isEmpty()) return;
          List<Double> s = Samples.of(values).sorted();
          List<Double> y = new ArrayList<>();
          for (int i = 0; i < s.size(); i++) y.add((i + 1.0) / s.size());
          chart.addSeries(name, s, y).setMarker(SeriesMarkers.NONE);
        });
    return write(chart, dir, file);
  }

  /** Grouped bars: one group per category, one bar per series. */
  public static String bars(
      Path dir,
      String file,
      String title,
      String yTitle,
      List<String> categories,
      Map<String, List<Double>> series) {
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .yAxisTitle(yTitle)
            .build();
    chart
        .getStyler()
        .setChartBackgroundColor(Color.WHITE)
        .setLegendPosition(LegendPosition.InsideNW);
    series.forEach(
        (name, values) ->
            chart.addSeries(name, new ArrayList<>(categories), new ArrayList<>(values)));
    return write(chart, dir, file);
  }

  /** Lines over x (e.g. time or table size). */
  public static String lines(
      Path dir,
      String file,
      String title,
      String xTitle,
      String yTitle,
      Map<String, List<double[]>> series) {
    XYChart chart =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .xAxisTitle(xTitle)
            .yAxisTitle(yTitle)
            .build();
    chart
        .getStyler()
        .setChartBackgroundColor(Color.WHITE)
        .setLegendPosition(LegendPosition.InsideNW);
    series.forEach(
        (name, points) -> {
          if (points.isEmpty()) return;
          double[] x = points.stream().mapToDouble(p -> p[0]).toArray();
          double[] y = points.stream().mapToDouble(p -> p[1]).toArray();
          chart.addSeries(name, x, y);
        });
    return write(chart, dir, file);
  }

  private static String write(
      org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path dir, String file) {
    System.setProperty("java.awt.headless", "true");
    try {
      dir.toFile().mkdirs();
      BitmapEncoder.saveBitmap(chart, dir.resolve(file).toString(), BitmapFormat.PNG);
      return file.endsWith(".png") ? file : file + ".png";
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the plot " + file, e);
    }
  }
}
