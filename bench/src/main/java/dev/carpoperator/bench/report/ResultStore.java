package dev.carpoperator.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Results as {@code <dir>/<part>.json}. */
public final class ResultStore {
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .enable(SerializationFeature.INDENT_OUTPUT);

  private final Path dir;

  public ResultStore(Path dir) {
    this.dir = dir;
  }

  public Path dir() {
    return dir;
  }

  public void write(Result result) {
    try {
      Files.createDirectories(dir);
      JSON.writeValue(dir.resolve(result.part() + ".json").toFile(), result);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot write the result of " + result.part() + " to " + dir, e);
    }
  }

  /** Every result in the directory, by file name. */
  public List<Result> readAll() {
    List<Result> results = new ArrayList<>();
    if (!Files.isDirectory(dir)) return results;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
        results.add(JSON.readValue(f.toFile(), Result.class));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read results from " + dir, e);
    }
    return results;
  }
}
