package dev.carpoperator.bench;

import dev.carpoperator.bench.report.Result;
import dev.carpoperator.bench.report.ResultStore;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a {@link BenchPart} gets: where results go, whether this is a quick run (fewer rounds,
 * smaller tables: for trying the harness, not for the published figures), and {@code key=value}
 * options from the command line.
 */
public record BenchContext(Path outDir, boolean quick, Map<String, String> options) {

  public int intOption(String key, int full, int quick) {
    String v = options.get(key);
    return v != null ? Integer.parseInt(v) : (this.quick ? quick : full);
  }

  public String option(String key, String dflt) {
    return options.getOrDefault(key, dflt);
  }

  /**
   * Writes {@code <outDir>/<part>.json}; plots go to {@code <outDir>} as PNG files named in the
   * result.
   */
  public void save(Result result) {
    new ResultStore(outDir).write(result);
  }

  /** Progress for the terminal: {@code [bench part] message}. */
  public static void say(String part, String message) {
    System.out.printf("[bench %s] %s%n", part, message);
    System.out.flush();
  }
}
