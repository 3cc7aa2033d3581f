package dev.carpoperator.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
  @TempDir Path dir;

  @Test
  void percentilesAreNearestRank() {
    Samples s = Samples.of(List.of(5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0));
    assertThat(s.p50()).isEqualTo(5.0);
    assertThat(s.p95()).isEqualTo(10.0);
    assertThat(s.min()).isEqualTo(1.0);
    assertThat(s.max()).isEqualTo(10.0);
    assertThat(Samples.of(List.of()).p50()).isNaN();
    assertThat(Samples.fmt(1234.4)).isEqualTo("1,234");
    assertThat(Samples.fmt(3.14)).isEqualTo("3.1");
  }

  @Test
  void resultsRoundTripAndRenderWithPlots() throws Exception {
    Map<String, List<Double>> series = new LinkedHashMap<>();
    series.put("agent", List.of(1.0, 2.0, 3.0));
    series.put("ucarp", List.of(2.0, 3.0, 4.0));
    String box = Plots.box(dir, "failover-box.png", "Failover", "ms", series);
    String cdf = Plots.cdf(dir, "failover-cdf.png", "Failover", "ms", series);
    Result r =
        new Result(
            "failover",
            "Failover time",
            Instant.parse("2026-11-24T10:00:00Z"),
            "./carp bench failover",
            Machine.describe(),
            List.of(
                new Result.Table(
                    "Unplanned",
                    List.of("Implementation", "p50"),
                    List.of(List.of("agent", "2.0"), List.of("ucarp", "3.0")),
                    "a note")),
            List.of(new Result.Plot(box, "box caption"), new Result.Plot(cdf, "cdf caption")),
            series,
            List.of("one note"));
    new ResultStore(dir).write(r);

    assertThat(new ResultStore(dir).readAll()).containsExactly(r);
    for (String png : List.of(box, cdf)) {
      byte[] head = Files.readAllBytes(dir.resolve(png));
      assertThat(head).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    }
    String md = Files.readString(ReportWriter.write(dir));
    assertThat(md)
        .contains(
            "## Failover time",
            "| Implementation | p50 |",
            "| ucarp | 3.0 |",
            "![box caption](failover-box.png)",
            "- one note");
  }
}
