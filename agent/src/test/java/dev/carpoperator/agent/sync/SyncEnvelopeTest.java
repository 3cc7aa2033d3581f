package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SyncEnvelopeTest {
  static final byte[] KEY = "0123456789abcdef-sync-key".getBytes(StandardCharsets.US_ASCII);
  static final byte[] SOURCE = {(byte) 192, 0, 2, 1};
  static final byte[] PFSYNC =
      PfsyncEncoder.pack(
              List.of(new PfsyncMessage.Ins(StateMapper.toState(Entries.tcp(40000, 3), 77, 5))),
              1444)
          .getFirst();

  @Test
  void authenticatedPacketOpensAndIsStillPlainPfsyncToAReaderThatIgnoresTheTrailer() {
    SyncEnvelope env = new SyncEnvelope(KEY, false);
    byte[] sealed = env.seal(PFSYNC, SOURCE);
    assertThat(sealed).hasSize(PFSYNC.length + SyncEnvelope.BASE_TRAILER_LENGTH);
    assertThat(PfsyncDecoder.decode(sealed))
        .isInstanceOf(PfsyncDecodeResult.Decoded.class); // len excludes the trailer
    SyncEnvelope.Opened o =
        new SyncEnvelope(KEY, false).open(sealed, 0, sealed.length, PFSYNC.length, SOURCE);
    assertThat(o.ok()).isTrue();
    assertThat(o.pfsync()).isEqualTo(PFSYNC);
    assertThat(o.session()).isEqualTo(env.session());
    assertThat(o.counter()).as("counters start at 1 per session").isEqualTo(1);
  }

  @Test
  void encryptedPacketHidesTheStatesAndOpensWithTheKey() {
    SyncEnvelope env = new SyncEnvelope(KEY, true);
    byte[] sealed = env.seal(PFSYNC, SOURCE);
    assertThat(Arrays.copyOfRange(sealed, 20, PFSYNC.length))
        .isNotEqualTo(Arrays.copyOfRange(PFSYNC, 20, PFSYNC.length));
    SyncEnvelope.Opened o =
        new SyncEnvelope(KEY, true).open(sealed, 0, sealed.length, PFSYNC.length, SOURCE);
    assertThat(o.pfsync()).isEqualTo(PFSYNC);
  }

  @Test
  void anyFlippedBitWrongKeyWrongSourceOrMissingTrailerIsRefused() {
    SyncEnvelope env = new SyncEnvelope(KEY, false);
    byte[] sealed = env.seal(PFSYNC, SOURCE, 7, new long[] {1, 2});
    Random r = new Random(1);
    for (int i = 0; i < 2000; i++) {
      byte[] bad = sealed.clone();
      int at = r.nextInt(bad.length);
      bad[at] ^= (byte) (1 << r.nextInt(8));
      assertThat(env.open(bad, 0, bad.length, PFSYNC.length, SOURCE).ok())
          .as("bit flipped at %d", at)
          .isFalse();
    }
    byte[] otherKey = "another-key-of-16+bytes".getBytes(StandardCharsets.US_ASCII);
    assertThat(
            new SyncEnvelope(otherKey, false)
                .open(sealed, 0, sealed.length, PFSYNC.length, SOURCE)
                .failure())
        .isEqualTo(SyncEnvelope.Failure.BAD_TAG);
    assertThat(
            env.open(sealed, 0, sealed.length, PFSYNC.length, new byte[] {(byte) 192, 0, 2, 66})
                .failure())
        .as("a spoofed source address")
        .isEqualTo(SyncEnvelope.Failure.BAD_TAG);
    assertThat(env.open(PFSYNC, 0, PFSYNC.length, PFSYNC.length, SOURCE).failure())
        .isEqualTo(SyncEnvelope.Failure.NO_TRAILER);
    assertThat(
            new SyncEnvelope(KEY, true)
                .open(sealed, 0, sealed.length, PFSYNC.length, SOURCE)
                .failure())
        .isEqualTo(SyncEnvelope.Failure.ENCRYPTION_MISMATCH);
  }

  @Test
  void shortKeysAreRefusedWithAHint() {
    assertThatThrownBy(() -> new SyncEnvelope("short".getBytes(StandardCharsets.US_ASCII), false))
        .hasMessageContaining("at least 16 bytes")
        .hasMessageContaining("/dev/urandom");
  }

  @Test
  void replayWindowAcceptsEachCounterOnceAndToleratesSmallReordering() {
    ReplayWindow w = new ReplayWindow();
    SyncEnvelope.Session one = new SyncEnvelope.Session(1, 1);
    assertThat(w.accept(one, 100)).isTrue();
    assertThat(w.accept(one, 100)).as("replay").isFalse();
    assertThat(w.accept(one, 105)).isTrue();
    assertThat(w.accept(one, 103)).as("late but new").isTrue();
    assertThat(w.accept(one, 103)).isFalse();
    assertThat(w.accept(one, 105 - ReplayWindow.WIDTH)).as("too old").isFalse();
    assertThat(w.accept(new SyncEnvelope.Session(2, 2), 1)).as("other sender").isTrue();
    assertThat(w.accept(one, 1_000_000)).isTrue();
    assertThat(w.accept(one, 999_999)).isTrue();
    assertThat(w.accept(one, 105)).isFalse();
  }

  @Test
  void hkdfSha256MatchesRfc5869TestCase1() {
    HexFormat hex = HexFormat.of();
    byte[] okm =
        SyncEnvelope.hkdfSha256(
            hex.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
            hex.parseHex("000102030405060708090a0b0c"),
            hex.parseHex("f0f1f2f3f4f5f6f7f8f9"),
            42);
    assertThat(hex.formatHex(okm))
        .isEqualTo(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  }

  @Test
  void twoStartsWithTheSameHostIdAndCounterNeverShareAKeyAndNonce() {
    // Before: the nonce was (hostid, counter) under one key for ever, so a fixed hostid with a
    // clock stepped back, two
    // nodes given one hostid, or a snapshot revert sealed two packets with the same key and nonce
    // (GCM then leaks
    // the XOR of the plaintexts and lets a forger compute tags). Now every start seals under its
    // own subkey.
    SyncEnvelope first = new SyncEnvelope(KEY, true);
    SyncEnvelope second = new SyncEnvelope(KEY, true);
    byte[] a = first.seal(PFSYNC, SOURCE);
    byte[] b = second.seal(PFSYNC, SOURCE);
    SyncEnvelope.Opened oa =
        new SyncEnvelope(KEY, true).open(a, 0, a.length, PFSYNC.length, SOURCE);
    SyncEnvelope.Opened ob =
        new SyncEnvelope(KEY, true).open(b, 0, b.length, PFSYNC.length, SOURCE);
    assertThat(oa.counter()).isEqualTo(ob.counter()).isEqualTo(1);
    assertThat(oa.session()).isNotEqualTo(ob.session());
    byte[] saltA = Arrays.copyOfRange(a, PFSYNC.length + 8, PFSYNC.length + 24);
    byte[] saltB = Arrays.copyOfRange(b, PFSYNC.length + 8, PFSYNC.length + 24);
    assertThat(SyncEnvelope.subkey(KEY, saltA)).isNotEqualTo(SyncEnvelope.subkey(KEY, saltB));
    assertThat(Arrays.copyOfRange(a, 20, PFSYNC.length))
        .as("another key stream")
        .isNotEqualTo(Arrays.copyOfRange(b, 20, PFSYNC.length));
    // The same salt (only possible by drawing 128 equal random bits) would give the same subkey:
    // the salt is what matters.
    byte[] salt = new byte[16];
    SyncEnvelope x = new SyncEnvelope(KEY, true, salt, System::currentTimeMillis);
    SyncEnvelope y = new SyncEnvelope(KEY, true, salt, System::currentTimeMillis);
    assertThat(Arrays.copyOfRange(x.seal(PFSYNC, SOURCE), 20, PFSYNC.length))
        .isEqualTo(Arrays.copyOfRange(y.seal(PFSYNC, SOURCE), 20, PFSYNC.length));
  }

  @Test
  void packetsSentOutsideTheFreshnessWindowAreRefusedAfterTheyAuthenticate() {
    long[] wall = {1_800_000_000_000L};
    SyncEnvelope sender = new SyncEnvelope(KEY, false, new byte[16], () -> wall[0]);
    SyncEnvelope receiver =
        new SyncEnvelope(
            KEY,
            false,
            new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
            () -> wall[0]);
    byte[] sealed = sender.seal(PFSYNC, SOURCE);
    wall[0] += SyncEnvelope.FRESHNESS_WINDOW_MILLIS;
    assertThat(receiver.open(sealed, 0, sealed.length, PFSYNC.length, SOURCE).ok()).isTrue();
    wall[0] += 1;
    assertThat(receiver.open(sealed, 0, sealed.length, PFSYNC.length, SOURCE).failure())
        .isEqualTo(SyncEnvelope.Failure.STALE);
    wall[0] -= 2 * SyncEnvelope.FRESHNESS_WINDOW_MILLIS + 2;
    assertThat(receiver.open(sealed, 0, sealed.length, PFSYNC.length, SOURCE).failure())
        .as("from the future")
        .isEqualTo(SyncEnvelope.Failure.STALE);
  }

  @Test
  void anOldAgentsVersion1EnvelopeIsRefusedWithItsOwnReason() {
    byte[] v1 =
        Arrays.copyOf(
            PFSYNC, PFSYNC.length + 36); // magic, version 1, the rest as an old agent sends it
    java.nio.ByteBuffer.wrap(v1, PFSYNC.length, 5).putInt(SyncEnvelope.MAGIC).put((byte) 1);
    assertThat(new SyncEnvelope(KEY, false).open(v1, 0, v1.length, PFSYNC.length, SOURCE).failure())
        .isEqualTo(SyncEnvelope.Failure.OLD_VERSION);
  }

  @Test
  void echoesAndTheRequestNonceTravelAuthenticated() {
    SyncEnvelope env = new SyncEnvelope(KEY, false);
    byte[] sealed = env.seal(PFSYNC, SOURCE, 42, new long[] {7, 8, 9, 10});
    assertThat(sealed).hasSize(PFSYNC.length + SyncEnvelope.TRAILER_LENGTH);
    SyncEnvelope.Opened o =
        new SyncEnvelope(KEY, false).open(sealed, 0, sealed.length, PFSYNC.length, SOURCE);
    assertThat(o.requestNonce()).isEqualTo(42);
    assertThat(o.echoes()).containsExactly(7, 8, 9, 10);
    assertThat(o.echoes(9)).isTrue();
    assertThat(o.echoes(0)).isFalse();
  }
}
