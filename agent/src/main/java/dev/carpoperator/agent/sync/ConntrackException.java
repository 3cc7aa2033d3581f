package dev.carpoperator.agent.sync;

/** A ctnetlink operation failed; the message says which and the kernel's reason (errno text). */
public class ConntrackException extends RuntimeException {
  private final int errno;

  public ConntrackException(String message, int errno) {
    super(message);
    this.errno = errno;
  }

  /** The errno reported by the kernel or libnetfilter_conntrack, 0 if none. */
  public int errno() {
    return errno;
  }
}
