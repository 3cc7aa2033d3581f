package dev.carpoperator.agent.net;

/**
 * A frame could not be sent or an interface could not be opened; the message names the interface.
 */
public class FrameIoException extends RuntimeException {
  public FrameIoException(String message, Throwable cause) {
    super(message, cause);
  }

  public FrameIoException(String message) {
    super(message);
  }
}
