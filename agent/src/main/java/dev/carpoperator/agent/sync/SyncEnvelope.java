package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.Pfsync;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Our authentication (and optional encryption) around pfsync packets; pfsync itself has none (protocols.md §5.1).
 *
 * <p>A 36-byte trailer follows the pfsync bytes. pfsync's header {@code len} counts only the pfsync bytes and
 * receivers ignore what follows, so an authenticated-only packet is still a valid pfsync packet to a reader that
 * does not check (tcpdump, an OpenBSD box on the same wire):
 *
 * <pre>
 * | pfsync header (20) | pfsync sections (len - 20) | trailer: magic "CSYN" (4) | version 1 (1) | flags (1) |
 *   reserved (2) | sender id u32 | counter u64 | AES-GCM tag (16) |
 * </pre>
 *
 * AES-256-GCM with the nonce (sender id, counter), so a (key, nonce) pair is never reused while counters rise. The
 * authenticated data is the IP source address, the pfsync header, the trailer up to the tag and, when not
 * encrypting, the sections. With {@link #encrypt} the sections are the ciphertext instead (same length). The key is
 * HMAC-SHA256("carp-operator pfsync envelope v1", secret): any secret of at least {@link #MIN_SECRET_BYTES} bytes.
 * Replays are caught by {@link ReplayWindow} on (sender id, counter). Not thread-safe: use one instance per thread.
 */
public final class SyncEnvelope {
  public static final int TRAILER_LENGTH = 36;
  public static final int MIN_SECRET_BYTES = 16;
  static final int MAGIC = 0x4353594e; // "CSYN"
  static final int VERSION = 1;
  static final int FLAG_ENCRYPTED = 0x01;
  private static final int TAG_BITS = 128;
  private static final int AUTHENTICATED_PREFIX = 20; // trailer bytes before the tag

  /** Why a packet was refused. */
  public enum Failure { NO_TRAILER, BAD_MAGIC, BAD_VERSION, ENCRYPTION_MISMATCH, BAD_TAG }

  /** An opened packet: the pfsync bytes (decrypted), who sent it and its counter; or the failure. */
  public record Opened(byte[] pfsync, int sender, long counter, Failure failure) {
    public boolean ok() { return failure == null; }
  }

  private final SecretKeySpec key;
  private final boolean encrypt;
  private final Cipher cipher;

  public SyncEnvelope(byte[] secret, boolean encrypt) {
    if (secret == null || secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException("the sync key must have at least " + MIN_SECRET_BYTES + " bytes (got "
          + (secret == null ? 0 : secret.length) + "); generate one with: head -c 32 /dev/urandom | base64");
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec("carp-operator pfsync envelope v1".getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
      this.key = new SecretKeySpec(mac.doFinal(secret), "AES");
      this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM or HMAC-SHA256 unavailable in this JDK", e);
    }
    this.encrypt = encrypt;
  }

  public boolean encrypts() { return encrypt; }

  /**
   * The key as stored in a file or Secret, without the trailing newline an editor, {@code echo} or
   * {@code kubectl create secret --from-file} keeps, so every node derives the same key from the same file.
   */
  public static byte[] trimKey(byte[] raw) {
    int end = raw.length;
    while (end > 0 && (raw[end - 1] == '\n' || raw[end - 1] == '\r' || raw[end - 1] == ' ' || raw[end - 1] == '\t')) end--;
    return Arrays.copyOf(raw, end);
  }

  /** Seals pfsync bytes (a whole pfsync packet, header included) sent from {@code source} (4 or 16 address bytes). */
  public byte[] seal(byte[] pfsync, byte[] source, int sender, long counter) {
    if (pfsync.length < Pfsync.HEADER_LENGTH) throw new IllegalArgumentException("not a pfsync packet");
    byte[] out = Arrays.copyOf(pfsync, pfsync.length + TRAILER_LENGTH);
    ByteBuffer t = ByteBuffer.wrap(out, pfsync.length, AUTHENTICATED_PREFIX);
    t.putInt(MAGIC).put((byte) VERSION).put((byte) (encrypt ? FLAG_ENCRYPTED : 0)).putShort((short) 0).putInt(sender).putLong(counter);
    try {
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce(sender, counter)));
      cipher.updateAAD(source);
      cipher.updateAAD(out, pfsync.length, AUTHENTICATED_PREFIX);
      int tagAt = pfsync.length + AUTHENTICATED_PREFIX;
      if (encrypt) {
        cipher.updateAAD(pfsync, 0, Pfsync.HEADER_LENGTH);
        byte[] sealed = cipher.doFinal(pfsync, Pfsync.HEADER_LENGTH, pfsync.length - Pfsync.HEADER_LENGTH);
        int bodyLength = pfsync.length - Pfsync.HEADER_LENGTH;
        System.arraycopy(sealed, 0, out, Pfsync.HEADER_LENGTH, bodyLength);
        System.arraycopy(sealed, bodyLength, out, tagAt, TAG_BITS / 8);
      } else {
        cipher.updateAAD(pfsync);
        byte[] tag = cipher.doFinal();
        System.arraycopy(tag, 0, out, tagAt, tag.length);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("sealing a sync packet failed", e);
    }
    return out;
  }

  /**
   * Opens {@code length} bytes at {@code offset} of {@code packet} (the IP payload) received from {@code source}.
   * Never throws on hostile input. {@code pfsyncLength} is the pfsync header's len, already checked by the caller to
   * be within the payload.
   */
  public Opened open(byte[] packet, int offset, int length, int pfsyncLength, byte[] source) {
    if (pfsyncLength < Pfsync.HEADER_LENGTH || length - pfsyncLength < TRAILER_LENGTH) return failed(Failure.NO_TRAILER);
    ByteBuffer t = ByteBuffer.wrap(packet, offset + pfsyncLength, TRAILER_LENGTH);
    if (t.getInt() != MAGIC) return failed(Failure.BAD_MAGIC);
    if ((t.get() & 0xff) != VERSION) return failed(Failure.BAD_VERSION);
    boolean encrypted = (t.get() & FLAG_ENCRYPTED) != 0;
    if (encrypted != encrypt) return failed(Failure.ENCRYPTION_MISMATCH);
    t.getShort();
    int sender = t.getInt();
    long counter = t.getLong();
    int tagAt = offset + pfsyncLength + AUTHENTICATED_PREFIX;
    try {
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce(sender, counter)));
      cipher.updateAAD(source);
      cipher.updateAAD(packet, offset + pfsyncLength, AUTHENTICATED_PREFIX);
      byte[] pfsync = Arrays.copyOfRange(packet, offset, offset + pfsyncLength);
      if (encrypted) {
        cipher.updateAAD(packet, offset, Pfsync.HEADER_LENGTH);
        byte[] input = new byte[pfsyncLength - Pfsync.HEADER_LENGTH + TAG_BITS / 8];
        System.arraycopy(packet, offset + Pfsync.HEADER_LENGTH, input, 0, pfsyncLength - Pfsync.HEADER_LENGTH);
        System.arraycopy(packet, tagAt, input, pfsyncLength - Pfsync.HEADER_LENGTH, TAG_BITS / 8);
        byte[] plain = cipher.doFinal(input);
        System.arraycopy(plain, 0, pfsync, Pfsync.HEADER_LENGTH, plain.length);
      } else {
        cipher.updateAAD(packet, offset, pfsyncLength);
        cipher.doFinal(packet, tagAt, TAG_BITS / 8);
      }
      return new Opened(pfsync, sender, counter, null);
    } catch (AEADBadTagException e) {
      return failed(Failure.BAD_TAG);
    } catch (GeneralSecurityException e) {
      return failed(Failure.BAD_TAG);
    }
  }

  private static byte[] nonce(int sender, long counter) {
    return ByteBuffer.allocate(12).putInt(sender).putLong(counter).array();
  }

  private static Opened failed(Failure f) {
    return new Opened(null, 0, 0, f);
  }
}
