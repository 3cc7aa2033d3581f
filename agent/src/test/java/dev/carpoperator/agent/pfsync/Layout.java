package dev.carpoperator.agent.pfsync;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Test helper: builds expected wire bytes by placing values at offsets copied by hand from
 * docs/protocols/pfsync.md §2–5, independently of the codec's own offset constants. Every byte
 * written is recorded, so a test can detect two fields overlapping (an offset typo) and check that
 * exactly the documented pad bytes were left untouched.
 */
final class Layout {
  private final byte[] bytes;
  private final boolean[] written;

  Layout(int size) {
    bytes = new byte[size];
    written = new boolean[size];
  }

  Layout u8(int off, int v) {
    return raw(off, new byte[] {(byte) v});
  }

  Layout be16(int off, int v) {
    return raw(off, new byte[] {(byte) (v >>> 8), (byte) v});
  }

  Layout be32(int off, long v) {
    return raw(off, new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
  }

  Layout be64(int off, long v) {
    be32(off, v >>> 32);
    return be32(off + 4, v);
  }

  /** A NUL-padded text field of {@code size} bytes. */
  Layout text(int off, int size, String s) {
    byte[] field = new byte[size];
    byte[] raw = s.getBytes(StandardCharsets.ISO_8859_1);
    System.arraycopy(raw, 0, field, 0, raw.length);
    return raw(off, field);
  }

  /** A 16-byte pf_addr holding an IPv4 address in its first 4 bytes. */
  Layout ipv4(int off, int a, int b, int c, int d) {
    return raw(
        off,
        new byte[] {(byte) a, (byte) b, (byte) c, (byte) d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  }

  Layout raw(int off, byte[] v) {
    for (int i = 0; i < v.length; i++) {
      if (written[off + i]) {
        throw new IllegalStateException("byte " + (off + i) + " written twice");
      }
      written[off + i] = true;
      bytes[off + i] = v[i];
    }
    return this;
  }

  /** Offsets no field covered: must be exactly the documented pads. */
  List<Integer> unwritten() {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < written.length; i++) {
      if (!written[i]) {
        out.add(i);
      }
    }
    return out;
  }

  byte[] bytes() {
    return bytes.clone();
  }

  static List<Integer> range(int from, int toExclusive) {
    List<Integer> out = new ArrayList<>();
    for (int i = from; i < toExclusive; i++) {
      out.add(i);
    }
    return out;
  }
}
