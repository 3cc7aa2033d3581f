package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SyncEnvelopeTest {
  static final byte[] KEY = "0123456789abcdef-sync-key".getBytes(StandardCharsets.US_ASCII);
  static final byte[] SOURCE = {(byte) 192, 0, 2, 1};
  static final byte[] PFSYNC = PfsyncEncoder.pack(List.of(new PfsyncMessage.Ins(StateMapper.toState(Entries.tcp(40000, 3), 77, 5))), 1444).getFirst();

  @Test
  void authenticatedPacketOpensAndIsStillPlainPfsyncToAReaderThatIgnoresTheTrailer() {
    SyncEnvelope env = new SyncEnvelope(KEY, false);
    byte[] sealed = env.seal(PFSYNC, SOURCE, 5, 1000);
    assertThat(sealed).hasSize(PFSYNC.length + SyncEnvelope.TRAILER_LENGTH);
    assertThat(PfsyncDecoder.decode(sealed)).isInstanceOf(PfsyncDecodeResult.Decoded.class); // len excludes the trailer
    SyncEnvelope.Opened o = new SyncEnvelope(KEY, false).open(sealed, 0, sealed.length, PFSYNC.length, SOURCE);
    assertThat(o.ok()).isTrue();
    assertThat(o.pfsync()).isEqualTo(PFSYNC);
    assertThat(o.sender()).isEqualTo(5);
    assertThat(o.counter()).isEqualTo(1000);
  }

  @Test
  void encryptedPacketHidesTheStatesAndOpensWithTheKey() {
    SyncEnvelope env = new SyncEnvelope(KEY, true);
    byte[] sealed = env.seal(PFSYNC, SOURCE, 5, 1001);
    assertThat(Arrays.copyOfRange(sealed, 20, PFSYNC.length)).isNotEqualTo(Arrays.copyOfRange(PFSYNC, 20, PFSYNC.length));
    SyncEnvelope.Opened o = new SyncEnvelope(KEY, true).open(sealed, 0, sealed.length, PFSYNC.length, SOURCE);
    assertThat(o.pfsync()).isEqualTo(PFSYNC);
  }

  @Test
  void anyFlippedBitWrongKeyWrongSourceOrMissingTrailerIsRefused() {
    SyncEnvelope env = new SyncEnvelope(KEY, false);
    byte[] sealed = env.seal(PFSYNC, SOURCE, 5, 1002);
    Random r = new Random(1);
    for (int i = 0; i < 2000; i++) {
      byte[] bad = sealed.clone();
      int at = r.nextInt(bad.length);
      bad[at] ^= (byte) (1 << r.nextInt(8));
      assertThat(env.open(bad, 0, bad.length, PFSYNC.length, SOURCE).ok()).as("bit flipped at %d", at).isFalse();
    }
    byte[] otherKey = "another-key-of-16+bytes".getBytes(StandardCharsets.US_ASCII);
    assertThat(new SyncEnvelope(otherKey, false).open(sealed, 0, sealed.length, PFSYNC.length, SOURCE).failure())
        .isEqualTo(SyncEnvelope.Failure.BAD_TAG);
    assertThat(env.open(sealed, 0, sealed.length, PFSYNC.length, new byte[] {(byte) 192, 0, 2, 66}).failure())
        .as("a spoofed source address").isEqualTo(SyncEnvelope.Failure.BAD_TAG);
    assertThat(env.open(PFSYNC, 0, PFSYNC.length, PFSYNC.length, SOURCE).failure()).isEqualTo(SyncEnvelope.Failure.NO_TRAILER);
    assertThat(new SyncEnvelope(KEY, true).open(sealed, 0, sealed.length, PFSYNC.length, SOURCE).failure())
        .isEqualTo(SyncEnvelope.Failure.ENCRYPTION_MISMATCH);
  }

  @Test
  void shortKeysAreRefusedWithAHint() {
    assertThatThrownBy(() -> new SyncEnvelope("short".getBytes(StandardCharsets.US_ASCII), false))
        .hasMessageContaining("at least 16 bytes").hasMessageContaining("/dev/urandom");
  }

  @Test
  void replayWindowAcceptsEachCounterOnceAndToleratesSmallReordering() {
    ReplayWindow w = new ReplayWindow();
    assertThat(w.accept(1, 100)).isTrue();
    assertThat(w.accept(1, 100)).as("replay").isFalse();
    assertThat(w.accept(1, 105)).isTrue();
    assertThat(w.accept(1, 103)).as("late but new").isTrue();
    assertThat(w.accept(1, 103)).isFalse();
    assertThat(w.accept(1, 105 - ReplayWindow.WIDTH)).as("too old").isFalse();
    assertThat(w.accept(2, 1)).as("other sender").isTrue();
    assertThat(w.accept(1, 1_000_000)).isTrue();
    assertThat(w.accept(1, 999_999)).isTrue();
    assertThat(w.accept(1, 105)).isFalse();
  }
}
