package dev.carpoperator.agent.net;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One long-lived {@code ip -o -force -batch -}. Each command line is followed by a marker command
 * ({@code link show dev lo}); ip flushes its output per line, so reading the marker's output means
 * the command before it has finished, and whatever it printed on stderr is already in the pipe.
 * With {@code -force} ip keeps going after a failed line and prints "Command failed -:N". The
 * process is restarted after any failure.
 */
final class IpBatch implements AutoCloseable {
  private static final String MARKER = "link show dev lo";
  private static final ScheduledExecutorService WATCHDOG =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().daemon().name("ip-batch-watchdog").unstarted(r));

  private final List<String> ipCommand;
  private final Duration timeout;
  private Process process;
  private Writer in;
  private BufferedReader out;
  private InputStream err;

  IpBatch(List<String> ipCommand, Duration timeout) {
    this.ipCommand = List.copyOf(ipCommand);
    this.timeout = timeout;
  }

  /**
   * Runs one batch line; returns null on success, else ip's error text. Throws if ip itself
   * misbehaves.
   */
  synchronized String run(String line) throws IOException {
    if (line.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("one command per line: " + line);
    }
    ensureStarted();
    Process p = process;
    // the exchange runs on the caller's thread; a watchdog kills ip if it hangs, which ends the
    // blocked read
    ScheduledFuture<?> watchdog =
        WATCHDOG.schedule(p::destroyForcibly, timeout.toMillis(), TimeUnit.MILLISECONDS);
    try {
      return exchange(line);
    } catch (IOException | RuntimeException e) {
      stop();
      if (watchdog.isDone()) {
        throw new AddressException(
            "ip -batch gave no answer within " + timeout + " to: " + line, e);
      }
      throw new AddressException("ip -batch failed on '" + line + "': " + e.getMessage(), e);
    } finally {
      watchdog.cancel(false);
    }
  }

  private String exchange(String line) throws IOException {
    in.write(line + "\n" + MARKER + "\n");
    in.flush();
    String l;
    while ((l = out.readLine()) != null) {
      if (l.contains(": lo:")) {
        // stderr of `line` was written before the marker ran
        int n = err.available();
        String text = n > 0 ? new String(err.readNBytes(n), StandardCharsets.UTF_8) : "";
        if (!text.contains("Command failed")) {
          return null;
        }
        List<String> msg = new ArrayList<>();
        text.lines().filter(s -> !s.startsWith("Command failed")).forEach(msg::add);
        return String.join("; ", msg).strip();
      }
    }
    throw new IOException("ip -batch exited (status " + waitExit() + ")");
  }

  private int waitExit() {
    try {
      return process.waitFor(1, TimeUnit.SECONDS) ? process.exitValue() : -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private void ensureStarted() throws IOException {
    if (process != null && process.isAlive()) {
      return;
    }
    List<String> cmd = new ArrayList<>(ipCommand);
    cmd.addAll(List.of("-o", "-force", "-batch", "-"));
    process = new ProcessBuilder(cmd).start();
    in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII);
    out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    err = process.getErrorStream();
  }

  private void stop() {
    if (process != null) {
      process.destroyForcibly();
      process = null;
    }
  }

  /** Closing stdin ends ip; the JVM exiting does the same, so no orphan is left behind. */
  @Override
  public synchronized void close() {
    if (process != null) {
      try {
        in.close();
        if (!process.waitFor(1, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (IOException | InterruptedException e) {
        process.destroyForcibly();
      }
      process = null;
    }
  }
}
