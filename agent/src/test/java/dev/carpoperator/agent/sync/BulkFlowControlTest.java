package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A bulk update between our agents goes at the pace of the requester's progress reports (BUS
 * PROGRESS), within a window, and falls back to the pacing when the reports stop. The fixture paces
 * one bulk packet per 2 ms, so a paced bulk of 3 000 states (600 packets) takes 1.2 s of its clock.
 */
class BulkFlowControlTest extends SealedPairFixture {
  static final int STATES = 3_000;

  /** a holds the states from its start (as after a restart), and b is not up yet. */
  void aHoldsStatesBeforeBStarts() {
    for (int i = 0; i < STATES; i++)
      a.kernel.apply(Entries.tcp(10_000 + i, ConntrackEntry.TCP_ESTABLISHED));
    a.core.start(now, a.kernel.dump(), false);
    for (int i = 0; i < 200; i++) { // what a announces meanwhile reaches nobody
      a.poll();
      advance(MS);
    }
    a.sealed.clear();
  }

  static Optional<PfsyncMessage.Bus> progressIn(byte[] sealed) {
    int len = (sealed[2] & 0xff) << 8 | (sealed[3] & 0xff);
    var d = (PfsyncDecodeResult.Decoded) PfsyncDecoder.decode(sealed, 0, len);
    return d.messages().stream()
        .filter(
            m -> m instanceof PfsyncMessage.Bus bus && bus.status() == PfsyncMessage.Bus.PROGRESS)
        .map(PfsyncMessage.Bus.class::cast)
        .findFirst();
  }

  long bulkPacketsSentByA() {
    return a.sealed.stream()
        .filter(
            p ->
                has(p, PfsyncMessage.Upd.class, 0)
                    || has(p, PfsyncMessage.Bus.class, PfsyncMessage.Bus.START))
        .count();
  }

  @Test
  void aRequesterThatReportsItsProgressGetsTheBulkAsFastAsItAppliesIt() {
    aHoldsStatesBeforeBStarts();
    long start = now;
    b.core.start(now, List.of(), true);
    while (b.core.bulkState() != BulkState.DONE && now - start < 2 * S) run(MS);

    assertThat(b.core.bulkState()).isEqualTo(BulkState.DONE);
    assertThat(b.kernel.table).hasSize(STATES);
    // paced: 600 packets at 2 ms; reported: 16 paced packets until the first report, then the rest
    assertThat(now - start).as("bulk time on the fake clock").isLessThan(100 * MS);

    List<PfsyncMessage.Bus> reports =
        b.sealed.stream().map(BulkFlowControlTest::progressIn).flatMap(Optional::stream).toList();
    assertThat(reports).isNotEmpty();
    assertThat(reports)
        .as("each names the peer whose bulk it reports on")
        .allSatisfy(r -> assertThat(r.creatorid()).isEqualTo(0x0a0a0a0a));
    assertThat(reports.stream().map(PfsyncMessage.Bus::endtime).toList())
        .startsWith(16)
        .isSorted()
        .allSatisfy(n -> assertThat(n % 16).isZero());
  }

  @Test
  void withoutReportsTheSenderStopsAtTheWindowThenFallsBackToThePacing() {
    aHoldsStatesBeforeBStarts();
    b.core.start(now, List.of(), true);
    // both ways until b's first report has reached a; from then on b's packets are lost
    boolean reported = false;
    while (!reported) {
      for (byte[] p : b.poll()) {
        if (!reported) a.deliver(p, SRC_B);
        reported |= progressIn(p).isPresent();
      }
      for (byte[] p : a.poll()) b.deliver(p, SRC_A);
      advance(MS);
    }
    for (int i = 0; i < 40; i++) {
      for (byte[] p : a.poll()) b.deliver(p, SRC_A);
      b.poll();
      advance(MS);
    }
    long sent = bulkPacketsSentByA();
    assertThat(sent)
        .as("16 reported applied plus a full window, no more")
        .isBetween((long) BulkSender.WINDOW_PACKETS, 16L + BulkSender.WINDOW_PACKETS);

    for (int i = 0; i < 60; i++) { // past the 50 ms stall
      for (byte[] p : a.poll()) b.deliver(p, SRC_A);
      b.poll();
      advance(MS);
    }
    assertThat(bulkPacketsSentByA()).as("sending again").isGreaterThan(sent);
    long resumed = bulkPacketsSentByA();
    for (int i = 0; i < 50; i++) {
      for (byte[] p : a.poll()) b.deliver(p, SRC_A);
      b.poll();
      advance(MS);
    }
    assertThat(bulkPacketsSentByA() - resumed).as("the pacing: one per 2 ms").isBetween(24L, 26L);
  }

  @Test
  void aReportForAnotherPeersBulkOrARequestWeDoNotAnswerChangesNothing() {
    aHoldsStatesBeforeBStarts();
    b.core.start(now, List.of(), true);
    List<byte[]> request = b.poll();
    byte[] first = request.getFirst();
    long nonce =
        new SyncEnvelope(KEY, false, new byte[16], () -> wall)
            .open(first, 0, first.length, (first[2] & 0xff) << 8 | (first[3] & 0xff), SRC_B)
            .requestNonce();
    assertThat(nonce).isNotZero();
    for (byte[] p : request) a.deliver(p, SRC_B); // a starts its bulk, paced
    for (byte[] p : a.poll()) b.deliver(p, SRC_A);
    long before = bulkPacketsSentByA();

    // b's key, but a report on another peer's bulk, and one for a request a does not answer
    a.deliver(
        sealedByB(new PfsyncMessage.Bus(0x0c0c0c0c, 1_000, PfsyncMessage.Bus.PROGRESS), nonce),
        SRC_B);
    a.deliver(
        sealedByB(new PfsyncMessage.Bus(0x0a0a0a0a, 1_000, PfsyncMessage.Bus.PROGRESS), 12_345),
        SRC_B);
    for (int i = 0; i < 20; i++) {
      for (byte[] p : a.poll()) b.deliver(p, SRC_A);
      advance(MS);
    }
    assertThat(bulkPacketsSentByA() - before).as("paced: one per 2 ms").isBetween(9L, 11L);
  }

  byte[] sealedByB(PfsyncMessage m, long requestNonce) {
    byte[] pfsync = PfsyncEncoder.pack(List.of(m), 1400).getFirst();
    return b.sealer.seal(pfsync, SRC_B, requestNonce, new long[0]);
  }
}
