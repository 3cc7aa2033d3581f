package dev.carpoperator.agent.pfsync;

import java.util.Objects;

/**
 * Range checks for the model records: a value that cannot be encoded is refused at construction.
 */
final class Checks {
  private Checks() {}

  static int u8(String name, int v) {
    if (v < 0 || v > 0xff) {
      throw new IllegalArgumentException(name + " must be 0..255, was " + v);
    }
    return v;
  }

  static int u16(String name, int v) {
    if (v < 0 || v > 0xffff) {
      throw new IllegalArgumentException(name + " must be 0..65535, was " + v);
    }
    return v;
  }

  /**
   * An interface name as carried in a 16-byte NUL-padded field: at most 16 characters, each 1..255
   * (one byte in ISO-8859-1, so decoding any wire bytes gives a valid name). OpenBSD itself writes
   * at most 15 and a NUL.
   */
  static String ifname(String name, String v) {
    Objects.requireNonNull(v, name);
    if (v.length() > Pfsync.IFNAMSIZ) {
      throw new IllegalArgumentException(name + " longer than 16 bytes: " + v);
    }
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == 0 || c > 0xff) {
        throw new IllegalArgumentException(
            name + " has a character that is not one non-NUL byte: " + v);
      }
    }
    return v;
  }
}
