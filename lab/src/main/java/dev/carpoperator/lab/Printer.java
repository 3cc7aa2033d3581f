package dev.carpoperator.lab;

import java.io.PrintStream;
import java.time.Duration;

/**
 * The lab's output: short timestamped lines ({@code [mm:ss]} since the start), numbered steps, and
 * command blocks ({@code $ kubectl ...} followed by what it printed). Every method prints whole
 * lines at once, so the lines of the background {@code kubectl get va -w} never land inside a
 * block.
 */
final class Printer {
  private final PrintStream out;
  private final long start = System.nanoTime();
  private int step;

  Printer(PrintStream out) {
    this.out = out;
  }

  /** Time since the printer was made. */
  Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - start);
  }

  private String stamp() {
    long s = elapsed().toSeconds();
    return String.format("[%02d:%02d]", s / 60, s % 60);
  }

  /** A new step of the story: a blank line and a numbered title. */
  synchronized void step(String title) {
    step++;
    out.println();
    out.println(stamp() + " " + step + ". " + title);
    out.flush();
  }

  /** One line (or several) of narration. */
  synchronized void say(String text) {
    for (String line : text.split("\n", -1)) out.println(stamp() + "    " + line);
    out.flush();
  }

  /** A command and what it printed, indented under the current step. */
  synchronized void command(String command, String output) {
    out.println(stamp() + "    $ " + command);
    for (String line : output.stripTrailing().split("\n", -1))
      if (!line.isBlank()) out.println("             " + line);
    out.flush();
  }

  /** A line from a background watch, marked with its source. */
  synchronized void watch(String source, String line) {
    out.println(stamp() + "    " + source + " │ " + line);
    out.flush();
  }

  /** Text printed as is (the network diagram, the closing hints). */
  synchronized void raw(String text) {
    out.println(text.stripTrailing());
    out.flush();
  }

  /** Human-readable byte count: 950 B, 12.3 KB, 4.56 MB. */
  static String bytes(long n) {
    if (n < 1000) return n + " B";
    if (n < 1_000_000) return String.format("%.1f KB", n / 1000.0);
    return String.format("%.2f MB", n / 1_000_000.0);
  }

  /** Seconds with one decimal. */
  static String seconds(Duration d) {
    return String.format("%.1f s", d.toMillis() / 1000.0);
  }
}
