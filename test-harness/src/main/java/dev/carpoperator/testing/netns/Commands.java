package dev.carpoperator.testing.netns;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs short commands with a timeout, capturing both streams. */
public final class Commands {
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(20);

  private Commands() {}

  public static ExecResult run(Duration timeout, List<String> command) {
    Process p;
    try {
      p =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
    } catch (IOException e) {
      throw new NetnsException("cannot start: " + String.join(" ", command), e);
    }
    // drain both pipes concurrently so a chatty command cannot block on a full pipe
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    boolean timedOut = false;
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        timedOut = true;
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
      return new ExecResult(
          List.copyOf(command),
          timedOut ? -1 : p.exitValue(),
          out.get(5, TimeUnit.SECONDS),
          err.get(5, TimeUnit.SECONDS),
          timedOut);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new NetnsException("interrupted: " + String.join(" ", command), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new NetnsException("cannot read output of: " + String.join(" ", command), e);
    }
  }

  public static ExecResult run(String... command) {
    return run(DEFAULT_TIMEOUT, List.of(command));
  }

  private static CompletableFuture<String> drain(InputStream in) {
    CompletableFuture<String> f = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (in) {
                f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
              } catch (IOException e) {
                f.completeExceptionally(new UncheckedIOException(e));
              }
            });
    return f;
  }
}
