package dev.carpoperator.agent.pfsync;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HexFormat;

/**
 * A 16-byte {@code pf_addr}, kept as two big-endian halves so the record compares by value. An IPv4
 * address occupies the first 4 bytes and the other 12 are zero (docs/protocols/pfsync.md §5); which
 * family applies is said by the surrounding key's {@code af}, not by the address.
 *
 * @param hi bytes 0..7, big-endian
 * @param lo bytes 8..15, big-endian
 */
public record PfAddr(long hi, long lo) {

  public static final PfAddr ZERO = new PfAddr(0, 0);

  /** From exactly 16 bytes. */
  public static PfAddr of(byte[] sixteen) {
    if (sixteen == null || sixteen.length != Pfsync.PF_ADDR_LENGTH) {
      throw new IllegalArgumentException("pf_addr needs 16 bytes");
    }
    return new PfAddr(Bytes.getLong(sixteen, 0), Bytes.getLong(sixteen, 8));
  }

  /** IPv4 in the first 4 bytes, IPv6 in all 16. */
  public static PfAddr of(InetAddress address) {
    byte[] a = address.getAddress();
    byte[] b = new byte[Pfsync.PF_ADDR_LENGTH];
    System.arraycopy(a, 0, b, 0, a.length);
    return of(b);
  }

  /** An IPv4 address given as a big-endian int (e.g. 0xc0000201 = 192.0.2.1). */
  public static PfAddr ipv4(int address) {
    return new PfAddr((address & 0xffffffffL) << 32, 0);
  }

  public byte[] toBytes() {
    byte[] b = new byte[Pfsync.PF_ADDR_LENGTH];
    Bytes.putLong(b, 0, hi);
    Bytes.putLong(b, 8, lo);
    return b;
  }

  /**
   * The address for an OpenBSD address family: the first 4 bytes for AF_INET (2), all 16 for
   * AF_INET6 (24).
   *
   * @throws IllegalArgumentException for any other family
   */
  public InetAddress toInetAddress(int af) {
    byte[] b = toBytes();
    try {
      if (af == Pfsync.AF_INET) {
        return Inet4Address.getByAddress(new byte[] {b[0], b[1], b[2], b[3]});
      }
      if (af == Pfsync.AF_INET6) {
        // getByAddress on 16 bytes always yields an Inet6Address (no v4-mapped folding) and does no
        // lookup.
        return InetAddress.getByAddress(null, b);
      }
    } catch (UnknownHostException e) {
      throw new AssertionError("fixed-length address rejected", e);
    }
    throw new IllegalArgumentException("not an OpenBSD address family: " + af);
  }

  @Override
  public String toString() {
    return HexFormat.of().formatHex(toBytes());
  }
}
