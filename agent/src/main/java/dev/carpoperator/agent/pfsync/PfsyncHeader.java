package dev.carpoperator.agent.pfsync;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The 20-byte {@code pfsync_header} (docs/protocols/pfsync.md §2).
 *
 * @param version 6 for OpenBSD
 * @param length total pfsync bytes, this header included (u16)
 * @param pfcksum 16 bytes; OpenBSD leaves it zero, FreeBSD puts its ruleset checksum there
 *     (defensively copied)
 */
public record PfsyncHeader(int version, int length, byte[] pfcksum) {

  public PfsyncHeader {
    Checks.u8("version", version);
    Checks.u16("length", length);
    if (pfcksum == null || pfcksum.length != Pfsync.CKSUM_LENGTH) {
      throw new IllegalArgumentException("pfcksum must be 16 bytes");
    }
    pfcksum = pfcksum.clone();
  }

  @Override
  public byte[] pfcksum() {
    return pfcksum.clone();
  }

  public boolean cksumIsZero() {
    for (byte b : pfcksum) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PfsyncHeader h
        && version == h.version
        && length == h.length
        && Arrays.equals(pfcksum, h.pfcksum);
  }

  @Override
  public int hashCode() {
    return (version * 31 + length) * 31 + Arrays.hashCode(pfcksum);
  }

  @Override
  public String toString() {
    return "PfsyncHeader[version="
        + version
        + ", length="
        + length
        + ", pfcksum="
        + HexFormat.of().formatHex(pfcksum)
        + "]";
  }
}
