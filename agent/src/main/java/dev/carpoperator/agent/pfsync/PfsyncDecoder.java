package dev.carpoperator.agent.pfsync;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Parses a pfsync payload (the IP payload, starting at the pfsync header) into messages. Nothing
 * read from the wire is trusted: every length and count is checked against the bytes actually
 * present before anything is read or allocated, and no input makes it throw.
 *
 * <p>Checks, first failure wins: at least 20 bytes ({@code BAD_LENGTH}) → version 5 ({@code
 * FREEBSD_VERSION}) or not 6 ({@code BAD_VERSION}) → 20 &le; header len &le; received bytes ({@code
 * BAD_LENGTH}) → per section: a whole subheader and count × len × 4 bytes before the header's end
 * ({@code TRUNCATED}). Bytes after the header's len (link-layer padding) are ignored. pfcksum is
 * not checked (OpenBSD ignores it).
 *
 * <p>Sections, as OpenBSD steps them: an unknown or obsolete action, or a len shorter than the
 * action's struct, is skipped and counted; a len longer than the struct is accepted (OpenBSD has
 * grown pfsync_state without a version bump) by reading the known prefix and stepping by len × 4.
 * Field values (creatorid 0, af 0, unknown timeout indices, ...) are not judged here: import policy
 * belongs to the receiver.
 */
public final class PfsyncDecoder {
  private PfsyncDecoder() {}

  public static PfsyncDecodeResult decode(byte[] buf) {
    return buf == null
        ? reject(PfsyncRejectReason.BAD_LENGTH, "no buffer")
        : decode(buf, 0, buf.length);
  }

  /**
   * Decodes {@code length} bytes of {@code buf} from {@code offset}; bad bounds are reported as
   * BAD_LENGTH.
   */
  public static PfsyncDecodeResult decode(byte[] buf, int offset, int length) {
    if (buf == null || offset < 0 || length < 0 || offset > buf.length - length) {
      return reject(PfsyncRejectReason.BAD_LENGTH, "invalid buffer bounds");
    }
    if (length < Pfsync.HEADER_LENGTH) {
      return reject(PfsyncRejectReason.BAD_LENGTH, "only " + length + " bytes, header needs 20");
    }
    int version = Bytes.u8(buf, offset + PfsyncWire.HDR_VERSION);
    if (version == Pfsync.VERSION_FREEBSD) {
      return reject(
          PfsyncRejectReason.FREEBSD_VERSION,
          "version 5 (FreeBSD pfsync), only OpenBSD v6 is spoken");
    }
    if (version != Pfsync.VERSION) {
      return reject(PfsyncRejectReason.BAD_VERSION, "version " + version);
    }
    int hlen = Bytes.u16(buf, offset + PfsyncWire.HDR_LEN);
    if (hlen < Pfsync.HEADER_LENGTH || hlen > length) {
      return reject(
          PfsyncRejectReason.BAD_LENGTH,
          "header len " + hlen + " with " + length + " bytes received");
    }
    byte[] cksum = new byte[Pfsync.CKSUM_LENGTH];
    System.arraycopy(buf, offset + PfsyncWire.HDR_CKSUM, cksum, 0, cksum.length);
    PfsyncHeader header = new PfsyncHeader(version, hlen, cksum);

    // Grown only as messages are actually read, never sized from a wire count.
    List<PfsyncMessage> messages = new ArrayList<>();
    int[] skipped = new int[PfsyncSkipReason.values().length];
    int skippedMessages = 0;
    int extended = 0;
    int pos = offset + Pfsync.HEADER_LENGTH;
    int end = offset + hlen;
    int section = 0;
    while (pos < end) {
      if (end - pos < Pfsync.SUBHEADER_LENGTH) {
        return reject(
            PfsyncRejectReason.TRUNCATED,
            "section " + section + ": " + (end - pos) + " bytes left, subheader needs 4");
      }
      int action = Bytes.u8(buf, pos + PfsyncWire.SUB_ACTION);
      int stride = Bytes.u8(buf, pos + PfsyncWire.SUB_LEN) * 4;
      int count = Bytes.u16(buf, pos + PfsyncWire.SUB_COUNT);
      pos += Pfsync.SUBHEADER_LENGTH;
      // At most 1020 × 65535, well inside an int.
      int sectionBytes = stride * count;
      if (sectionBytes > end - pos) {
        return reject(
            PfsyncRejectReason.TRUNCATED,
            "section "
                + section
                + " ("
                + PfsyncAction.name(action)
                + "): "
                + count
                + " x "
                + stride
                + " bytes announced, "
                + (end - pos)
                + " left");
      }
      int need = PfsyncAction.size(action);
      PfsyncSkipReason skip = null;
      if (need < 0) {
        skip =
            PfsyncAction.isObsolete(action)
                ? PfsyncSkipReason.OBSOLETE_ACTION
                : PfsyncSkipReason.UNKNOWN_ACTION;
      } else if (stride < need) {
        skip = PfsyncSkipReason.SHORT_LENGTH;
      }
      if (skip != null) {
        skipped[skip.ordinal()]++;
        skippedMessages += count;
      } else {
        if (stride > need) {
          extended++;
        }
        for (int i = 0; i < count; i++) {
          messages.add(PfsyncWire.readMessage(action, buf, pos + i * stride));
        }
      }
      pos += sectionBytes;
      section++;
    }
    Map<PfsyncSkipReason, Integer> skips = new EnumMap<>(PfsyncSkipReason.class);
    for (PfsyncSkipReason r : PfsyncSkipReason.values()) {
      if (skipped[r.ordinal()] > 0) {
        skips.put(r, skipped[r.ordinal()]);
      }
    }
    return new PfsyncDecodeResult.Decoded(header, messages, skips, skippedMessages, extended);
  }

  private static PfsyncDecodeResult reject(PfsyncRejectReason reason, String detail) {
    return new PfsyncDecodeResult.Rejected(reason, detail);
  }
}
