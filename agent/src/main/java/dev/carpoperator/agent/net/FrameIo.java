package dev.carpoperator.agent.net;

import java.util.function.Consumer;

/**
 * The agent's only door to the wire: whole Ethernet frames in and out of one interface. The CARP
 * codec and state machine depend on this port, never on pcap4j: pcap4j is effectively unmaintained,
 * so it stays replaceable (for example by the JDK's own foreign-function API calling libpcap or an
 * AF_PACKET socket), and the protocol code stays testable with plain bytes.
 */
public interface FrameIo extends AutoCloseable {

  /**
   * Sends one complete Ethernet frame (no FCS). Throws {@link FrameIoException} if the frame was
   * not sent.
   */
  void send(byte[] ethernetFrame);

  /**
   * Starts delivering received frames to {@code receiver} on a dedicated thread. May be called
   * once. An exception thrown by {@code receiver} is caught and counted; it never stops the receive
   * loop.
   */
  void start(Consumer<byte[]> receiver);

  /** Counters since open. */
  Stats stats();

  /**
   * Frames the kernel dropped because the capture buffer was full (since the current handle
   * opened); -1 if unknown.
   */
  default long captureDrops() {
    return -1;
  }

  /** Stops the receive thread (waiting for it) and releases the interface. Idempotent. */
  @Override
  void close();

  /**
   * @param received frames handed to the receiver
   * @param receiverFailures frames whose receiver threw
   * @param sent frames sent
   * @param sendFailures sends that failed
   * @param loopErrors capture errors (e.g. interface went down) after which the handle was reopened
   */
  record Stats(
      long received, long receiverFailures, long sent, long sendFailures, long loopErrors) {}
}
