package dev.carpoperator.testing.netns;

import java.util.List;

/** Outcome of a finished command. {@code timedOut} means it was killed after its timeout. */
public record ExecResult(
    List<String> command, int exitCode, String stdout, String stderr, boolean timedOut) {
  public boolean ok() {
    return exitCode == 0 && !timedOut;
  }

  /** Returns this if the command succeeded, else throws with the command line and its stderr. */
  public ExecResult check() {
    if (!ok()) {
      throw new NetnsException(
          "command failed ("
              + (timedOut ? "timed out" : "exit " + exitCode)
              + "): "
              + String.join(" ", command)
              + (stderr.isBlank() ? "" : ": " + stderr.strip()));
    }
    return this;
  }
}
