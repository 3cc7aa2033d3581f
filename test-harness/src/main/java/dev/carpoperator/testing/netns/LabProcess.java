package dev.carpoperator.testing.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A long-running process started inside a lab host; stdout and stderr go together to {@link
 * #log()}.
 */
public final class LabProcess implements AutoCloseable {
  private final String host;
  private final String label;
  private final List<String> command;
  private final Process process;
  private final Path log;

  LabProcess(String host, String label, List<String> command, Process process, Path log) {
    this.host = host;
    this.label = label;
    this.command = command;
    this.process = process;
    this.log = log;
  }

  public String host() {
    return host;
  }

  public String label() {
    return label;
  }

  public List<String> command() {
    return command;
  }

  public long pid() {
    return process.pid();
  }

  public Process process() {
    return process;
  }

  public Path log() {
    return log;
  }

  /** Everything the process wrote so far (stdout and stderr interleaved). */
  public String output() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Sends {@code signal} ("STOP", "CONT", ...) to the process and its descendants with kill(1):
   * SIGSTOP freezes an agent (timers, adverts and sync stop; its addresses stay), SIGCONT resumes
   * it.
   */
  public void signal(String signal) {
    List<String> command =
        new java.util.ArrayList<>(List.of("kill", "-" + signal, Long.toString(pid())));
    process.descendants().forEach(d -> command.add(Long.toString(d.pid())));
    try {
      Process k = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(k.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0)
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while signalling " + this, e);
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Waits for exit; returns the exit code, or -1 if it is still running after {@code timeout}. */
  public int waitFor(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  /**
   * SIGTERM to the process and its children, then SIGKILL after {@code grace}. Safe to call twice.
   */
  public void stop(Duration grace) {
    List<ProcessHandle> children = process.descendants().toList();
    process.destroy();
    children.forEach(ProcessHandle::destroy);
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }

  @Override
  public void close() {
    stop(Duration.ofSeconds(3));
  }

  @Override
  public String toString() {
    return "LabProcess[" + label + "@" + host + " pid " + process.pid() + "]";
  }
}
