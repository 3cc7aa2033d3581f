package dev.carpoperator.agent.pfsync;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Collects messages for ONE pfsync v6 packet within a byte budget and encodes it: the 20-byte
 * header (version 6, len = total bytes, pfcksum zero as current OpenBSD sends), then one section
 * per action, in the order each action was first added, each with a subheader {action, len =
 * message size / 4, count}. EOF is never sent.
 *
 * <p>Grouping by action means messages of different actions are not kept in their relative add
 * order (OpenBSD's sender behaves the same, one queue per action). A caller that needs an order
 * across actions for the same state (e.g. INS before DEL_C) should collapse such messages first, as
 * OpenBSD's per-state queue does, or start a new packet. Not thread-safe.
 */
public final class PfsyncPacketBuilder {
  /** The smallest budget that can carry any message: header + subheader + one 264-byte state. */
  public static final int MIN_BUDGET =
      Pfsync.HEADER_LENGTH + Pfsync.SUBHEADER_LENGTH + Pfsync.STATE_LENGTH;

  private final int maxBytes;
  private final Map<Integer, List<PfsyncMessage>> sections = new LinkedHashMap<>();
  private int size = Pfsync.HEADER_LENGTH;
  private int count;

  /**
   * @param maxBytes pfsync bytes per packet, header included (the IP payload: e.g. MTU 1500 - 20 =
   *     1480); {@value #MIN_BUDGET}..65535
   */
  public PfsyncPacketBuilder(int maxBytes) {
    if (maxBytes < MIN_BUDGET || maxBytes > Pfsync.MAX_PACKET_LENGTH) {
      throw new IllegalArgumentException(
          "budget must be " + MIN_BUDGET + "..65535 bytes, was " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  /** A builder for an interface MTU, leaving room for a 20-byte IPv4 header. */
  public static PfsyncPacketBuilder forMtu(int mtu) {
    return new PfsyncPacketBuilder(Pfsync.payloadBudget(mtu));
  }

  public int maxBytes() {
    return maxBytes;
  }

  /** The length the packet would have if built now. */
  public int size() {
    return size;
  }

  public int messageCount() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /**
   * Bytes that adding {@code m} would take: the message, plus a subheader if its action has no
   * section yet.
   */
  public int costOf(PfsyncMessage m) {
    int cost = PfsyncAction.size(m.action());
    return sections.containsKey(m.action()) ? cost : cost + Pfsync.SUBHEADER_LENGTH;
  }

  public boolean fits(PfsyncMessage m) {
    return size + costOf(m) <= maxBytes;
  }

  /** Adds {@code m} if it fits in the budget; returns false (packet unchanged) if not. */
  public boolean add(PfsyncMessage m) {
    Objects.requireNonNull(m, "message");
    int cost = costOf(m);
    if (size + cost > maxBytes) {
      return false;
    }
    // A u16 count cannot overflow: 65535 messages of >= 12 bytes exceed any 16-bit budget.
    sections.computeIfAbsent(m.action(), a -> new ArrayList<>()).add(m);
    size += cost;
    count++;
    return true;
  }

  /** Encodes the packet collected so far (the builder keeps its content). */
  public byte[] build() {
    byte[] out = new byte[size];
    Bytes.put8(out, PfsyncWire.HDR_VERSION, Pfsync.VERSION);
    Bytes.put16(out, PfsyncWire.HDR_LEN, size);
    int pos = Pfsync.HEADER_LENGTH;
    for (Map.Entry<Integer, List<PfsyncMessage>> e : sections.entrySet()) {
      int action = e.getKey();
      int msgSize = PfsyncAction.size(action);
      Bytes.put8(out, pos + PfsyncWire.SUB_ACTION, action);
      Bytes.put8(out, pos + PfsyncWire.SUB_LEN, msgSize / 4);
      Bytes.put16(out, pos + PfsyncWire.SUB_COUNT, e.getValue().size());
      pos += Pfsync.SUBHEADER_LENGTH;
      for (PfsyncMessage m : e.getValue()) {
        PfsyncWire.writeMessage(out, pos, m);
        pos += msgSize;
      }
    }
    return out;
  }

  /** Empties the builder for the next packet. */
  public void clear() {
    sections.clear();
    size = Pfsync.HEADER_LENGTH;
    count = 0;
  }
}
