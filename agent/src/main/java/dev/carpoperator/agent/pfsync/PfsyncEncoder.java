package dev.carpoperator.agent.pfsync;

import java.util.ArrayList;
import java.util.List;

/** Stateless helpers over {@link PfsyncPacketBuilder}. */
public final class PfsyncEncoder {
  private PfsyncEncoder() {}

  /**
   * Packs messages into as few packets as the greedy in-order fill gives: a packet is closed as
   * soon as the next message does not fit, as OpenBSD flushes. Within each packet messages are
   * grouped by action ({@link PfsyncPacketBuilder}). An empty list gives no packets.
   *
   * @param maxBytes pfsync bytes per packet, header included (e.g. {@code
   *     Pfsync.payloadBudget(1500)})
   */
  public static List<byte[]> pack(List<? extends PfsyncMessage> messages, int maxBytes) {
    PfsyncPacketBuilder b = new PfsyncPacketBuilder(maxBytes);
    List<byte[]> packets = new ArrayList<>();
    for (PfsyncMessage m : messages) {
      if (!b.add(m)) {
        packets.add(b.build());
        b.clear();
        if (!b.add(m)) {
          throw new AssertionError("message larger than the minimum budget");
        }
      }
    }
    if (!b.isEmpty()) {
      packets.add(b.build());
    }
    return packets;
  }

  /** The {@link PfsyncAction#size}-byte wire form of one message, without header or subheader. */
  public static byte[] encodeMessage(PfsyncMessage m) {
    byte[] out = new byte[PfsyncAction.size(m.action())];
    PfsyncWire.writeMessage(out, 0, m);
    return out;
  }
}
