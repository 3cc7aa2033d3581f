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

  /**
   * The command that reproduces this run of {@code part}: the options given (every part's, sorted)
   * and --quick; a report states it with its figures.
   */
  public String command(String part) {
    StringBuilder b = new StringBuilder("sudo ./carp bench");
    if (quick) b.append(" --quick");
    new java.util.TreeMap<>(options)
        .forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
    return b.append(' ').append(part).toString();
  }

  /** Progress for the terminal: {@code [bench part] message}. */
  public static void say(String part, String message) {
    System.out.printf("[bench %s] %s%n", part, message);
    System.out.flush();
  }
}
