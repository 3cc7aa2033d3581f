package dev.carpoperator.agent.net;

import java.io.IOException;

/**
 * An address or link change failed; the message names the interface, the address and the ip error
 * text.
 */
public class AddressException extends IOException {
  public AddressException(String message) {
    super(message);
  }

  public AddressException(String message, Throwable cause) {
    super(message, cause);
  }
}
