package dev.carpoperator.agent.pfsync;

import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Outcome of {@link PfsyncDecoder#decode}: either the messages of an accepted packet or why it was
 * dropped.
 */
public sealed interface PfsyncDecodeResult {

  /**
   * An accepted packet.
   *
   * @param header the header as received
   * @param messages every decoded message, in wire order
   * @param skippedSections sections stepped over, by reason (reasons with no skips are absent)
   * @param skippedMessages total count of messages in the skipped sections, as their subheaders
   *     claim
   * @param extendedSections sections whose len was larger than this codec's struct (a newer
   *     sender); the known prefix of each message was decoded and the rest ignored
   */
  record Decoded(
      PfsyncHeader header,
      List<PfsyncMessage> messages,
      Map<PfsyncSkipReason, Integer> skippedSections,
      int skippedMessages,
      int extendedSections)
      implements PfsyncDecodeResult {
    public Decoded {
      Objects.requireNonNull(header, "header");
      messages = List.copyOf(messages);
      EnumMap<PfsyncSkipReason, Integer> copy = new EnumMap<>(PfsyncSkipReason.class);
      copy.putAll(skippedSections);
      skippedSections = Collections.unmodifiableMap(copy);
    }

    /** Sections skipped for {@code reason}. */
    public int skipped(PfsyncSkipReason reason) {
      return skippedSections.getOrDefault(reason, 0);
    }

    public int skippedSectionCount() {
      return skippedSections.values().stream().mapToInt(Integer::intValue).sum();
    }
  }

  /**
   * A dropped packet.
   *
   * @param reason the first check that failed
   * @param detail a short human-readable explanation for logs
   */
  record Rejected(PfsyncRejectReason reason, String detail) implements PfsyncDecodeResult {
    public Rejected {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(detail, "detail");
    }
  }
}
