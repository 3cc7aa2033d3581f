package dev.carpoperator.agent.pfsync;

import java.nio.charset.StandardCharsets;

/**
 * Big-endian field access on byte arrays. Callers have bounds-checked the whole structure
 * beforehand.
 */
final class Bytes {
  private Bytes() {}

  static int u8(byte[] b, int off) {
    return b[off] & 0xff;
  }

  static int u16(byte[] b, int off) {
    return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
  }

  static int getInt(byte[] b, int off) {
    return (b[off] & 0xff) << 24
        | (b[off + 1] & 0xff) << 16
        | (b[off + 2] & 0xff) << 8
        | (b[off + 3] & 0xff);
  }

  static long getLong(byte[] b, int off) {
    return (getInt(b, off) & 0xffffffffL) << 32 | (getInt(b, off + 4) & 0xffffffffL);
  }

  static void put8(byte[] b, int off, int v) {
    b[off] = (byte) v;
  }

  static void put16(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 8);
    b[off + 1] = (byte) v;
  }

  static void putInt(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 24);
    b[off + 1] = (byte) (v >>> 16);
    b[off + 2] = (byte) (v >>> 8);
    b[off + 3] = (byte) v;
  }

  static void putLong(byte[] b, int off, long v) {
    putInt(b, off, (int) (v >>> 32));
    putInt(b, off + 4, (int) v);
  }

  /** A NUL-padded name field: bytes up to the first NUL (or all of them), one char per byte. */
  static String getName(byte[] b, int off, int size) {
    int n = 0;
    while (n < size && b[off + n] != 0) {
      n++;
    }
    return new String(b, off, n, StandardCharsets.ISO_8859_1);
  }

  /** Writes a name validated by {@link Checks#ifname}; the rest of the field stays zero. */
  static void putName(byte[] b, int off, String name) {
    byte[] raw = name.getBytes(StandardCharsets.ISO_8859_1);
    System.arraycopy(raw, 0, b, off, raw.length);
  }
}
