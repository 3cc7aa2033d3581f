package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.Pfsync;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import javax.crypto.Cipher;
import javax.crypto.KDF;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.HKDFParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Our authentication (and optional encryption) around pfsync packets; pfsync itself has none
 * (docs/protocols/pfsync.md §1).
 *
 * <p>A trailer follows the pfsync bytes. pfsync's header {@code len} counts only the pfsync bytes
 * and receivers ignore what follows, so an authenticated-only packet is still a valid pfsync packet
 * to a reader that does not check (tcpdump, an OpenBSD box on the same wire):
 *
 * <pre>
 * | pfsync header (20) | pfsync sections (len - 20) | trailer: magic "CSYN" (4) | version 2 (1) | flags (1) |
 *   echo count n (1) | reserved (1) | session salt (16) | counter u64 | send time u64 (ms since the epoch) |
 *   bulk request nonce u64 | n echoed bulk request nonces (8 each, n &lt;= 4) | AES-GCM tag (16) |
 * </pre>
 *
 * <p>Keys: each envelope (one per agent start) draws a random 16-byte salt and seals with the
 * subkey HKDF-SHA256(secret, salt, "carp-operator pfsync envelope v2"); the nonce is its counter,
 * counting from 1. A (subkey, nonce) pair therefore never repeats, whatever the clocks, the hostids
 * or a VM snapshot do: a repeat needs two starts drawing the same 128-bit salt. The salt also names
 * the sender's session for replay checks; nothing here depends on the pf hostid (creatorid), which
 * the operator may set to the same value on two nodes.
 *
 * <p>Freshness: the send time is authenticated and a packet more than {@link
 * #FRESHNESS_WINDOW_MILLIS} away from the receiver's clock is refused ({@link Failure#STALE}), so a
 * packet captured earlier cannot be replayed to a receiver that restarted (its replay window
 * forgot) once that window has passed. The bulk request nonce and the echoes carry the challenge of
 * a bulk update: see {@link SyncCore#receiveSealed}.
 *
 * <p>The authenticated data is the IP source address, the pfsync header, the trailer up to the tag
 * and, when not encrypting, the sections. With {@link #encrypts} the sections are the ciphertext
 * instead (same length). Replays within the window are caught by {@link ReplayWindow} on (session,
 * counter). Not thread-safe: one instance per thread (one seals, another opens).
 */
public final class SyncEnvelope {
  /** The largest trailer (four echoes): what a packet budget must leave room for. */
  public static final int TRAILER_LENGTH = 96;

  /** The trailer without echoes: most packets. */
  public static final int BASE_TRAILER_LENGTH = 64;

  public static final int MAX_ECHOES = 4;
  public static final int MIN_SECRET_BYTES = 16;

  /**
   * Largest difference between the sender's and the receiver's clock (plus transit) that is
   * accepted.
   */
  public static final long FRESHNESS_WINDOW_MILLIS = 30_000;

  static final int MAGIC = 0x4353594e; // "CSYN"
  static final int VERSION = 2;
  static final int FLAG_ENCRYPTED = 0x01;
  static final int SALT_LENGTH = 16;
  private static final int TAG_BYTES = 16;
  private static final int FIXED_PREFIX = 48; // trailer bytes before the echoes
  private static final long[] NO_ECHOES = new long[0];
  private static final byte[] INFO =
      "carp-operator pfsync envelope v2".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_CACHED_SESSIONS = 64;

  /** Why a packet was refused. */
  public enum Failure {
    NO_TRAILER,
    BAD_MAGIC,
    BAD_VERSION,
    /**
     * Version 1 (the 36-byte trailer of agents before the per-start subkeys): an agent not yet
     * upgraded.
     */
    OLD_VERSION,
    ENCRYPTION_MISMATCH,
    BAD_TAG,
    /**
     * Authentic, but sent more than {@link #FRESHNESS_WINDOW_MILLIS} from now: replayed, or the
     * clocks disagree.
     */
    STALE
  }

  /** A sender's session: the salt of one of its starts. */
  public record Session(long high, long low) {
    @Override
    public String toString() {
      return HexFormat.of().toHexDigits(high);
    }
  }

  /**
   * An opened packet: the pfsync bytes (decrypted), the sender's session, counter and send time,
   * the nonce of the bulk request it carries (0: none) and the requests it answers; or the failure.
   */
  public record Opened(
      byte[] pfsync,
      Session session,
      long counter,
      long timeMillis,
      long requestNonce,
      long[] echoes,
      Failure failure) {
    public boolean ok() {
      return failure == null;
    }

    public boolean echoes(long nonce) {
      if (nonce == 0 || echoes == null) return false;
      for (long e : echoes) if (e == nonce) return true;
      return false;
    }
  }

  private final byte[] secret;
  private final boolean encrypt;
  private final Cipher cipher;
  private final KDF
      hkdf; // one per envelope: looking up the provider per packet would cost more than the
  // derivation
  private final byte[] salt;
  private final Session session;
  private final SecretKey sealKey;
  private final LongSupplier wallMillis;
  private long counter;
  private final Map<Session, SecretKey> openKeys =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Session, SecretKey> eldest) {
          return size() > MAX_CACHED_SESSIONS;
        }
      };

  /** An envelope for one agent start: a fresh random salt, the system clock. */
  public SyncEnvelope(byte[] secret, boolean encrypt) {
    this(secret, encrypt, randomSalt(), System::currentTimeMillis);
  }

  /**
   * @param wallMillis the wall clock (ms since the epoch) for send times and the freshness check
   */
  public SyncEnvelope(byte[] secret, boolean encrypt, byte[] salt, LongSupplier wallMillis) {
    if (secret == null || secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException(
          "the sync key must have at least "
              + MIN_SECRET_BYTES
              + " bytes (got "
              + (secret == null ? 0 : secret.length)
              + "); generate one with: head -c 32 /dev/urandom | base64");
    }
    if (salt.length != SALT_LENGTH)
      throw new IllegalArgumentException("salt must have " + SALT_LENGTH + " bytes");
    this.secret = secret.clone();
    this.encrypt = encrypt;
    this.salt = salt.clone();
    this.session = sessionOf(ByteBuffer.wrap(salt));
    this.wallMillis = wallMillis;
    try {
      this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
      this.hkdf = KDF.getInstance("HKDF-SHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM or HKDF-SHA256 unavailable in this JDK", e);
    }
    this.sealKey = new SecretKeySpec(subkey(hkdf, this.secret, this.salt), "AES");
  }

  public boolean encrypts() {
    return encrypt;
  }

  /** This envelope's sending session. */
  public Session session() {
    return session;
  }

  /** The AES-256 key of one session: HKDF-SHA256 of the shared secret with the session's salt. */
  static byte[] subkey(byte[] secret, byte[] salt) {
    try {
      return subkey(KDF.getInstance("HKDF-SHA256"), secret, salt);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HKDF-SHA256 unavailable in this JDK", e);
    }
  }

  private static byte[] subkey(KDF hkdf, byte[] secret, byte[] salt) {
    return hkdfSha256(hkdf, secret, salt, INFO, 32);
  }

  /** HKDF (RFC 5869) with SHA-256, through the JDK's KDF API. */
  static byte[] hkdfSha256(byte[] ikm, byte[] salt, byte[] info, int length) {
    try {
      return hkdfSha256(KDF.getInstance("HKDF-SHA256"), ikm, salt, info, length);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HKDF-SHA256 unavailable in this JDK", e);
    }
  }

  private static byte[] hkdfSha256(KDF hkdf, byte[] ikm, byte[] salt, byte[] info, int length) {
    try {
      return hkdf.deriveData(
          HKDFParameterSpec.ofExtract().addIKM(ikm).addSalt(salt).thenExpand(info, length));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HKDF-SHA256 unavailable in this JDK", e);
    }
  }

  private static byte[] randomSalt() {
    byte[] s = new byte[SALT_LENGTH];
    new SecureRandom().nextBytes(s);
    return s;
  }

  /**
   * The key as stored in a file or Secret, without the trailing newline an editor, {@code echo} or
   * {@code kubectl create secret --from-file} keeps, so every node derives the same key from the
   * same file.
   */
  public static byte[] trimKey(byte[] raw) {
    int end = raw.length;
    while (end > 0
        && (raw[end - 1] == '\n'
            || raw[end - 1] == '\r'
            || raw[end - 1] == ' '
            || raw[end - 1] == '\t')) end--;
    return Arrays.copyOf(raw, end);
  }

  /**
   * Seals pfsync bytes (a whole pfsync packet, header included) sent from {@code source} (4 or 16
   * address bytes).
   */
  public byte[] seal(byte[] pfsync, byte[] source) {
    return seal(pfsync, source, 0, NO_ECHOES);
  }

  /**
   * Seals with the nonce of a bulk request this packet carries ({@code requestNonce}, 0 for none)
   * and the nonces of the bulk requests it answers (at most {@link #MAX_ECHOES}).
   */
  public byte[] seal(byte[] pfsync, byte[] source, long requestNonce, long[] echoes) {
    if (pfsync.length < Pfsync.HEADER_LENGTH)
      throw new IllegalArgumentException("not a pfsync packet");
    if (echoes.length > MAX_ECHOES)
      throw new IllegalArgumentException("at most " + MAX_ECHOES + " echoes");
    int prefix = FIXED_PREFIX + 8 * echoes.length;
    byte[] out = Arrays.copyOf(pfsync, pfsync.length + prefix + TAG_BYTES);
    ByteBuffer t = ByteBuffer.wrap(out, pfsync.length, prefix);
    t.putInt(MAGIC)
        .put((byte) VERSION)
        .put((byte) (encrypt ? FLAG_ENCRYPTED : 0))
        .put((byte) echoes.length)
        .put((byte) 0);
    t.put(salt).putLong(++counter).putLong(wallMillis.getAsLong()).putLong(requestNonce);
    for (long e : echoes) t.putLong(e);
    try {
      cipher.init(
          Cipher.ENCRYPT_MODE, sealKey, new GCMParameterSpec(TAG_BYTES * 8, nonce(counter)));
      cipher.updateAAD(source);
      cipher.updateAAD(out, pfsync.length, prefix);
      int tagAt = pfsync.length + prefix;
      if (encrypt) {
        cipher.updateAAD(pfsync, 0, Pfsync.HEADER_LENGTH);
        byte[] sealed =
            cipher.doFinal(pfsync, Pfsync.HEADER_LENGTH, pfsync.length - Pfsync.HEADER_LENGTH);
        int bodyLength = pfsync.length - Pfsync.HEADER_LENGTH;
        System.arraycopy(sealed, 0, out, Pfsync.HEADER_LENGTH, bodyLength);
        System.arraycopy(sealed, bodyLength, out, tagAt, TAG_BYTES);
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
   * Opens {@code length} bytes at {@code offset} of {@code packet} (the IP payload) received from
   * {@code source}. Never throws on hostile input. {@code pfsyncLength} is the pfsync header's len,
   * already checked by the caller to be within the payload.
   */
  public Opened open(byte[] packet, int offset, int length, int pfsyncLength, byte[] source) {
    int room = length - pfsyncLength;
    if (pfsyncLength < Pfsync.HEADER_LENGTH || room < 5) return failed(Failure.NO_TRAILER);
    ByteBuffer t = ByteBuffer.wrap(packet, offset + pfsyncLength, room);
    boolean magic = t.getInt() == MAGIC;
    int version = t.get() & 0xff;
    // Checked before the length: an old agent's 36-byte trailer is shorter than ours and deserves
    // its own reason.
    if (magic && version == 1) return failed(Failure.OLD_VERSION);
    if (room < BASE_TRAILER_LENGTH) return failed(Failure.NO_TRAILER);
    if (!magic) return failed(Failure.BAD_MAGIC);
    if (version != VERSION) return failed(Failure.BAD_VERSION);
    boolean encrypted = (t.get() & FLAG_ENCRYPTED) != 0;
    if (encrypted != encrypt) return failed(Failure.ENCRYPTION_MISMATCH);
    int echoCount = t.get() & 0xff;
    if (echoCount > MAX_ECHOES || room < BASE_TRAILER_LENGTH + 8 * echoCount)
      return failed(Failure.NO_TRAILER);
    t.get();
    int saltAt = t.position();
    Session from = sessionOf(t);
    long count = t.getLong();
    long sentAt = t.getLong();
    long requestNonce = t.getLong();
    long[] echoes = new long[echoCount];
    for (int i = 0; i < echoCount; i++) echoes[i] = t.getLong();
    int prefix = FIXED_PREFIX + 8 * echoCount;
    int tagAt = offset + pfsyncLength + prefix;
    try {
      SecretKey key = openKeys.get(from);
      boolean cached = key != null;
      if (!cached)
        key =
            new SecretKeySpec(
                subkey(hkdf, secret, Arrays.copyOfRange(packet, saltAt, saltAt + SALT_LENGTH)),
                "AES");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce(count)));
      cipher.updateAAD(source);
      cipher.updateAAD(packet, offset + pfsyncLength, prefix);
      byte[] pfsync = Arrays.copyOfRange(packet, offset, offset + pfsyncLength);
      if (encrypted) {
        cipher.updateAAD(packet, offset, Pfsync.HEADER_LENGTH);
        byte[] input = new byte[pfsyncLength - Pfsync.HEADER_LENGTH + TAG_BYTES];
        System.arraycopy(
            packet, offset + Pfsync.HEADER_LENGTH, input, 0, pfsyncLength - Pfsync.HEADER_LENGTH);
        System.arraycopy(packet, tagAt, input, pfsyncLength - Pfsync.HEADER_LENGTH, TAG_BYTES);
        byte[] plain = cipher.doFinal(input);
        System.arraycopy(plain, 0, pfsync, Pfsync.HEADER_LENGTH, plain.length);
      } else {
        cipher.updateAAD(packet, offset, pfsyncLength);
        cipher.doFinal(packet, tagAt, TAG_BYTES);
      }
      if (!cached)
        openKeys.put(
            from, key); // only sessions that authenticated: forged salts cannot evict real ones
      long now = wallMillis.getAsLong();
      if (sentAt < now - FRESHNESS_WINDOW_MILLIS || sentAt > now + FRESHNESS_WINDOW_MILLIS)
        return failed(Failure.STALE);
      return new Opened(pfsync, from, count, sentAt, requestNonce, echoes, null);
    } catch (GeneralSecurityException | RuntimeException e) {
      return failed(Failure.BAD_TAG); // AEADBadTagException, or a bad length the cipher refused
    }
  }

  private static Session sessionOf(ByteBuffer b) {
    return new Session(b.getLong(), b.getLong());
  }

  private static byte[] nonce(long counter) {
    return ByteBuffer.allocate(12).putInt(0).putLong(counter).array();
  }

  private static Opened failed(Failure f) {
    return new Opened(null, null, 0, 0, 0, null, f);
  }
}
