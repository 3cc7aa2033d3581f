package dev.carpoperator.testing.netns;

/** A lab operation failed; the message names the command and carries its error output. */
public class NetnsException extends RuntimeException {
  public NetnsException(String message) {
    super(message);
  }

  public NetnsException(String message, Throwable cause) {
    super(message, cause);
  }
}
