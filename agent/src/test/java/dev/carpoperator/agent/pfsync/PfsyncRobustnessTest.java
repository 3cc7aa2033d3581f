package dev.carpoperator.agent.pfsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult.Decoded;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult.Rejected;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The decoder faces the network: it must never throw, and its memory use must follow the bytes, not
 * wire counts.
 */
class PfsyncRobustnessTest {

  static final int ROUNDS = 200_000;

  @Test
  void randomTruncatedAndMutatedInputsNeverThrow() {
    RandomMessages gen = new RandomMessages(20);
    Random rnd = gen.random();
    List<byte[]> valid = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      List<PfsyncMessage> msgs =
          IntStream.range(0, 1 + rnd.nextInt(12)).mapToObj(k -> gen.message()).toList();
      valid.addAll(PfsyncEncoder.pack(msgs, PfsyncPacketBuilder.MIN_BUDGET + rnd.nextInt(1500)));
    }
    Map<PfsyncRejectReason, Integer> rejects = new EnumMap<>(PfsyncRejectReason.class);
    int decoded = 0;
    for (int round = 0; round < ROUNDS; round++) {
      byte[] in =
          switch (round % 5) {
            case 0 -> randomBytes(rnd);
            case 1 -> truncated(rnd, valid.get(rnd.nextInt(valid.size())));
            case 2 -> bitFlipped(rnd, valid.get(rnd.nextInt(valid.size())));
            case 3 -> subheaderMutated(rnd, valid.get(rnd.nextInt(valid.size())));
            default -> randomSections(rnd);
          };
      int off = rnd.nextInt(4) == 0 ? rnd.nextInt(in.length + 1) : 0;
      PfsyncDecodeResult r = PfsyncDecoder.decode(in, off, in.length - off);
      assertThat(r).isNotNull();
      switch (r) {
        case Decoded d -> {
          decoded++;
          assertThat(d.header().length()).isBetween(20, in.length - off);
          assertThat(d.messages().size()).isLessThanOrEqualTo((d.header().length() - 20) / 12);
        }
        case Rejected j -> rejects.merge(j.reason(), 1, Integer::sum);
      }
    }
    // Each generator reaches both outcomes, so the loop exercises real parsing, not only early
    // exits.
    assertThat(decoded).isGreaterThan(ROUNDS / 10);
    assertThat(rejects.keySet())
        .contains(
            PfsyncRejectReason.BAD_LENGTH,
            PfsyncRejectReason.BAD_VERSION,
            PfsyncRejectReason.FREEBSD_VERSION,
            PfsyncRejectReason.TRUNCATED);
  }

  @Test
  void truncatingAValidPacketAnywhereIsRejectedOrShorter() {
    RandomMessages gen = new RandomMessages(21);
    List<PfsyncMessage> msgs = IntStream.range(0, 30).mapToObj(k -> gen.message()).toList();
    for (byte[] p : PfsyncEncoder.pack(msgs, 1480)) {
      for (int n = 0; n < p.length; n++) {
        // Header len still says the full length: every cut is BAD_LENGTH.
        PfsyncDecodeResult r = PfsyncDecoder.decode(p, 0, n);
        assertThat(r).isInstanceOf(Rejected.class);
        assertThat(((Rejected) r).reason()).isEqualTo(PfsyncRejectReason.BAD_LENGTH);
        // Header len patched to the cut: TRUNCATED unless the cut falls on a section boundary.
        byte[] cut = Arrays.copyOf(p, n);
        if (n >= 20) {
          cut[2] = (byte) (n >>> 8);
          cut[3] = (byte) n;
          PfsyncDecodeResult c = PfsyncDecoder.decode(cut);
          if (c instanceof Rejected j) {
            assertThat(j.reason()).isEqualTo(PfsyncRejectReason.TRUNCATED);
          }
        }
      }
    }
  }

  @Test
  void wireCountsDoNotDriveAllocation() {
    com.sun.management.ThreadMXBean mx =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long tid = Thread.currentThread().threadId();
    // count 65535 of full states, but only one state's worth of bytes
    byte[] hugeCount =
        new PfsyncDecoderTest.Raw().section(PfsyncAction.UPD, 66, 65535, new byte[264]).build();
    // 65535-byte packet of sections that claim 65535 messages of len 0 (skipped, nothing to read)
    byte[] manyEmpty = new byte[65535];
    manyEmpty[0] = 6;
    manyEmpty[2] = (byte) 0xff;
    manyEmpty[3] = (byte) 0xff;
    for (int pos = 20; pos + 4 <= manyEmpty.length; pos += 4) {
      manyEmpty[pos] = (byte) PfsyncAction.INS;
      manyEmpty[pos + 2] = (byte) 0xff;
      manyEmpty[pos + 3] = (byte) 0xff;
    }
    manyEmpty[65532] = 0x7f; // the last 3 bytes are a stray partial subheader
    assertThat(PfsyncDecoder.decode(hugeCount)).isInstanceOf(Rejected.class);
    assertThat(PfsyncDecoder.decode(manyEmpty)).isInstanceOf(Rejected.class);
    for (int i = 0; i < 2000; i++) { // warm up so class loading and JIT are not counted
      PfsyncDecoder.decode(hugeCount);
      PfsyncDecoder.decode(manyEmpty);
    }
    long before = mx.getThreadAllocatedBytes(tid);
    for (int i = 0; i < 1000; i++) {
      PfsyncDecoder.decode(hugeCount);
    }
    long perHuge = (mx.getThreadAllocatedBytes(tid) - before) / 1000;
    before = mx.getThreadAllocatedBytes(tid);
    for (int i = 0; i < 100; i++) {
      PfsyncDecoder.decode(manyEmpty);
    }
    long perEmpty = (mx.getThreadAllocatedBytes(tid) - before) / 100;
    // A 65535 x 264-byte claim would be 17 MB if believed; a few hundred bytes (header copy,
    // result) is honest.
    assertThat(perHuge).isLessThan(4096);
    assertThat(perEmpty).isLessThan(4096);
  }

  // ---------------------------------------------------------------- generators

  static byte[] randomBytes(Random rnd) {
    byte[] b = new byte[rnd.nextInt(700)];
    rnd.nextBytes(b);
    if (b.length >= 4 && rnd.nextBoolean()) {
      b[0] = (byte) (rnd.nextInt(4) == 0 ? 5 : 6);
      if (rnd.nextBoolean()) {
        b[2] = (byte) (b.length >>> 8);
        b[3] = (byte) b.length;
      }
    }
    return b;
  }

  static byte[] truncated(Random rnd, byte[] valid) {
    byte[] b = Arrays.copyOf(valid, rnd.nextInt(valid.length + 1));
    if (b.length >= 4 && rnd.nextBoolean()) {
      b[2] = (byte) (b.length >>> 8);
      b[3] = (byte) b.length;
    }
    return b;
  }

  static byte[] bitFlipped(Random rnd, byte[] valid) {
    byte[] b = valid.clone();
    int flips = 1 + rnd.nextInt(8);
    for (int i = 0; i < flips; i++) {
      // Bias towards the first 64 bytes, where the header and first subheader live.
      int pos = rnd.nextBoolean() ? rnd.nextInt(Math.min(64, b.length)) : rnd.nextInt(b.length);
      b[pos] ^= (byte) (1 << rnd.nextInt(8));
    }
    return b;
  }

  /** Rewrites one field of the first subheader to an edge value. */
  static byte[] subheaderMutated(Random rnd, byte[] valid) {
    byte[] b = valid.clone();
    if (b.length < 24) {
      return b;
    }
    int[] edges = {0, 1, 2, 3, 4, 12, 15, 16, 65, 66, 67, 127, 128, 254, 255};
    switch (rnd.nextInt(3)) {
      case 0 -> b[20] = (byte) edges[rnd.nextInt(edges.length)];
      case 1 -> b[21] = (byte) edges[rnd.nextInt(edges.length)];
      default -> {
        int c = rnd.nextBoolean() ? 65535 : rnd.nextInt(65536);
        b[22] = (byte) (c >>> 8);
        b[23] = (byte) c;
      }
    }
    return b;
  }

  /** A consistent header followed by random subheaders with small random bodies. */
  static byte[] randomSections(Random rnd) {
    PfsyncDecoderTest.Raw raw = new PfsyncDecoderTest.Raw();
    int n = rnd.nextInt(6);
    for (int i = 0; i < n; i++) {
      int action = rnd.nextInt(4) == 0 ? rnd.nextInt(256) : rnd.nextInt(17);
      int words =
          rnd.nextInt(3) == 0
              ? rnd.nextInt(256)
              : Math.max(0, PfsyncAction.size(action) / 4) + rnd.nextInt(3) - 1;
      words = Math.max(0, Math.min(255, words));
      int count = rnd.nextInt(5) == 0 ? 65535 : rnd.nextInt(4);
      int bodyLen = rnd.nextBoolean() ? words * 4 * Math.min(count, 4) : rnd.nextInt(400);
      byte[] body = new byte[bodyLen];
      rnd.nextBytes(body);
      raw.section(action, words, count, body);
    }
    return raw.build();
  }
}
