package dev.carpoperator.agent.carp;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collection;
import java.util.TreeSet;

/**
 * CARP's HMAC-SHA1 for one vhost (docs/protocols/carp.md §2). The message is {@code 02 01
 * [lladdr(6)] vhid v4-sorted v6-sorted counter(8)}; the key is the passphrase's first 19 bytes.
 *
 * <p>Everything but the counter is fixed per vhost, so the constructor absorbs {@code ipad‖key}
 * plus the fixed message prefix into a SHA-1 state, and {@code opad‖key} into another; each packet
 * then only clones those states and hashes 8 counter bytes and one 20-byte digest, as OpenBSD does
 * with its precomputed contexts. The result is plain RFC 2104 HMAC-SHA1 (tests check this against
 * {@code javax.crypto.Mac}).
 *
 * <p>Two variants exist, like OpenBSD's: {@link Variant#ORIG} hashes scope-embedded IPv6 addresses
 * (link-local unicast, interface/link-local multicast) with bytes 2–3 zeroed; {@link
 * Variant#NOV6LL} leaves them out. We send NOV6LL, like OpenBSD, and accept either on receive.
 *
 * <p>Immutable and thread-safe: the precomputed digests are only ever cloned, never updated.
 */
public final class CarpHmac {

  public enum Variant {
    ORIG,
    NOV6LL
  }

  public static final int KEY_LENGTH = 20;
  private static final int SHA1_BLOCK = 64;

  private final int vhid;
  private final MessageDigest[] inner = new MessageDigest[2];
  private final MessageDigest outer;

  /**
   * The two variants are identical when there is no scope-embedded IPv6 address; then verify hashes
   * once.
   */
  private final boolean variantsDiffer;

  private final byte[][] prefixes = new byte[2][];

  /**
   * @param key 20-byte key as the kernel holds it (see {@link #keyFromPassphrase})
   * @param lladdr 6-byte lladdr to hash after the type byte, or null. OpenBSD hashes it only for
   *     the leader vhost with an admin-set lladdr (docs/protocols/carp.md §2.3); the caller
   *     decides.
   * @param vhid 1..255
   * @param addresses the vhost's virtual IPs, any order, duplicates allowed
   */
  public CarpHmac(
      byte[] key, byte[] lladdr, int vhid, Collection<? extends InetAddress> addresses) {
    if (key == null || key.length > KEY_LENGTH) {
      throw new IllegalArgumentException("key must be at most 20 bytes");
    }
    if (lladdr != null && lladdr.length != 6) {
      throw new IllegalArgumentException("lladdr must be 6 bytes");
    }
    CarpAdvert.checkByte("vhid", vhid);
    this.vhid = vhid;

    // Sorted and de-duplicated, as OpenBSD's "next strictly larger" selection loop does.
    TreeSet<Integer> v4 = new TreeSet<>(Integer::compareUnsigned);
    TreeSet<byte[]> v6all = new TreeSet<>(Arrays::compareUnsigned);
    TreeSet<byte[]> v6global = new TreeSet<>(Arrays::compareUnsigned);
    for (InetAddress a : addresses) {
      byte[] b = a.getAddress();
      if (a instanceof Inet4Address) {
        v4.add(
            ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff));
      } else if (a instanceof Inet6Address) {
        if (isScopeEmbedded(b)) {
          b[2] = 0; // KAME keeps the scope id here in the kernel; the hash sees it zeroed
          b[3] = 0;
          v6all.add(b);
        } else {
          v6all.add(b);
          v6global.add(b);
        }
      }
    }
    prefixes[Variant.ORIG.ordinal()] = prefix(lladdr, vhid, v4, v6all);
    prefixes[Variant.NOV6LL.ordinal()] = prefix(lladdr, vhid, v4, v6global);
    variantsDiffer = v6all.size() != v6global.size();

    byte[] ipad = new byte[SHA1_BLOCK];
    byte[] opad = new byte[SHA1_BLOCK];
    for (int i = 0; i < SHA1_BLOCK; i++) {
      byte k = i < key.length ? key[i] : 0;
      ipad[i] = (byte) (k ^ 0x36);
      opad[i] = (byte) (k ^ 0x5c);
    }
    for (Variant v : Variant.values()) {
      MessageDigest md = sha1();
      md.update(ipad);
      md.update(prefixes[v.ordinal()]);
      inner[v.ordinal()] = md;
    }
    outer = sha1();
    outer.update(opad);
  }

  /** Convenience: key from a passphrase, no lladdr. */
  public static CarpHmac of(
      String passphrase, int vhid, Collection<? extends InetAddress> addresses) {
    return new CarpHmac(keyFromPassphrase(passphrase), null, vhid, addresses);
  }

  /**
   * The kernel's 20-byte key: {@code strlcpy} of the UTF-8 passphrase into 20 bytes, so at most 19
   * bytes of it followed by zeros. Null or empty gives 20 zero bytes (OpenBSD still computes and
   * checks the HMAC then).
   */
  public static byte[] keyFromPassphrase(String passphrase) {
    byte[] key = new byte[KEY_LENGTH];
    if (passphrase != null) {
      byte[] p = passphrase.getBytes(StandardCharsets.UTF_8);
      System.arraycopy(p, 0, key, 0, Math.min(p.length, KEY_LENGTH - 1));
    }
    return key;
  }

  public int vhid() {
    return vhid;
  }

  /** The digest we send: NOV6LL, as OpenBSD sends. */
  public byte[] compute(long counter) {
    return compute(counter, Variant.NOV6LL);
  }

  public byte[] compute(long counter, Variant variant) {
    MessageDigest in = copy(inner[variant.ordinal()]);
    byte[] c = new byte[8];
    CarpCodec.putLong(c, 0, counter);
    in.update(c);
    MessageDigest out = copy(outer);
    out.update(in.digest());
    return out.digest();
  }

  /** Constant-time check of {@code digest[offset, offset+20)} against both variants. */
  public boolean verify(long counter, byte[] digest, int offset) {
    if (digest == null || offset < 0 || digest.length - offset < CarpAdvert.DIGEST_LENGTH) {
      return false;
    }
    byte[] got = Arrays.copyOfRange(digest, offset, offset + CarpAdvert.DIGEST_LENGTH);
    boolean ok = MessageDigest.isEqual(compute(counter, Variant.NOV6LL), got);
    if (variantsDiffer) {
      // Non-short-circuit OR so the work done does not depend on which variant matched.
      ok |= MessageDigest.isEqual(compute(counter, Variant.ORIG), got);
    }
    return ok;
  }

  /** The fixed part of the hashed message (everything but the counter), for tests and debugging. */
  byte[] messagePrefix(Variant variant) {
    return prefixes[variant.ordinal()].clone();
  }

  /** Addresses whose kernel form embeds a scope id in bytes 2–3 (KAME's IN6_IS_SCOPE_EMBED). */
  static boolean isScopeEmbedded(byte[] v6) {
    int b0 = v6[0] & 0xff;
    int b1 = v6[1] & 0xff;
    boolean linkLocalUnicast = b0 == 0xfe && (b1 & 0xc0) == 0x80;
    boolean scopedMulticast = b0 == 0xff && ((b1 & 0x0f) == 1 || (b1 & 0x0f) == 2);
    return linkLocalUnicast || scopedMulticast;
  }

  private static byte[] prefix(
      byte[] lladdr, int vhid, Collection<Integer> v4, Collection<byte[]> v6) {
    byte[] out = new byte[2 + (lladdr == null ? 0 : 6) + 1 + 4 * v4.size() + 16 * v6.size()];
    int p = 0;
    out[p++] = 0x02; // version as its own byte, not the packed 0x21
    out[p++] = 0x01; // type
    if (lladdr != null) {
      System.arraycopy(lladdr, 0, out, p, 6);
      p += 6;
    }
    out[p++] = (byte) vhid;
    for (int a : v4) {
      out[p++] = (byte) (a >>> 24);
      out[p++] = (byte) (a >>> 16);
      out[p++] = (byte) (a >>> 8);
      out[p++] = (byte) a;
    }
    for (byte[] a : v6) {
      System.arraycopy(a, 0, out, p, 16);
      p += 16;
    }
    return out;
  }

  private static MessageDigest sha1() {
    try {
      return MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is mandatory in every JDK", e);
    }
  }

  private static MessageDigest copy(MessageDigest md) {
    try {
      return (MessageDigest) md.clone();
    } catch (CloneNotSupportedException e) {
      // The JDK's SUN provider supports clone; a provider that does not would break the
      // precomputation.
      throw new IllegalStateException("SHA-1 provider does not support clone()", e);
    }
  }
}
