package dev.carpoperator.agent.sync;

import java.net.InetAddress;
import java.util.Objects;

/**
 * The IP-layer facts of one received protocol-240 packet, as the frame I/O layer parsed them.
 *
 * @param hopLimit IPv4 TTL
 * @param source IP source address
 * @param bytes holds the IP payload at {@code offset}, {@code length} bytes; not copied (hot path),
 *     the caller must not reuse it while validating
 */
public record InboundSyncPacket(
    int hopLimit, InetAddress source, byte[] bytes, int offset, int length) {
  public InboundSyncPacket {
    Objects.requireNonNull(source, "source");
    Objects.checkFromIndexSize(offset, length, bytes.length);
  }

  /** A packet whose IP payload is all of {@code payload}. */
  public static InboundSyncPacket of(int hopLimit, InetAddress source, byte[] payload) {
    return new InboundSyncPacket(hopLimit, source, payload, 0, payload.length);
  }
}
