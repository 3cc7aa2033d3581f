package dev.carpoperator.agent.pfsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult.Decoded;
import dev.carpoperator.agent.pfsync.PfsyncMessage.DelC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Upd;
import dev.carpoperator.agent.pfsync.PfsyncMessage.UpdC;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** MTU budgets and splitting; capacities are the derived figures of docs/protocols/pfsync.md §7. */
class PfsyncPackingTest {

  static final int BUDGET_1500 = 1480;

  static List<PfsyncMessage> decodeAll(List<byte[]> packets) {
    List<PfsyncMessage> out = new ArrayList<>();
    for (byte[] p : packets) {
      out.addAll(((Decoded) PfsyncDecoder.decode(p)).messages());
    }
    return out;
  }

  @Test
  void budgetForMtu() {
    assertThat(Pfsync.payloadBudget(1500)).isEqualTo(1480);
    assertThat(PfsyncPacketBuilder.forMtu(1500).maxBytes()).isEqualTo(1480);
  }

  @Test
  void fiveFullStatesPerPacketAtMtu1500() {
    RandomMessages r = new RandomMessages(3);
    List<PfsyncMessage> states =
        IntStream.range(0, 12).mapToObj(i -> (PfsyncMessage) new Upd(r.state())).toList();
    List<byte[]> packets = PfsyncEncoder.pack(states, BUDGET_1500);
    assertThat(packets)
        .extracting(p -> p.length)
        .containsExactly(20 + 4 + 5 * 264, 20 + 4 + 5 * 264, 20 + 4 + 2 * 264);
    assertThat(decodeAll(packets)).isEqualTo(states);
  }

  @Test
  void seventeenUpdCPerPacket() {
    RandomMessages r = new RandomMessages(4);
    List<PfsyncMessage> msgs = IntStream.range(0, 18).mapToObj(i -> r.message(2)).toList();
    List<byte[]> packets = PfsyncEncoder.pack(msgs, BUDGET_1500);
    assertThat(packets).extracting(p -> p.length).containsExactly(20 + 4 + 17 * 84, 20 + 4 + 84);
    assertThat(decodeAll(packets)).isEqualTo(msgs);
    assertThat(msgs.get(0)).isInstanceOf(UpdC.class);
  }

  @Test
  void oneHundredTwentyOneTwelveByteMessagesPerPacket() {
    List<PfsyncMessage> msgs =
        IntStream.range(0, 250).mapToObj(i -> (PfsyncMessage) new DelC(i, 7)).toList();
    List<byte[]> packets = PfsyncEncoder.pack(msgs, BUDGET_1500);
    assertThat(packets).extracting(p -> p.length).containsExactly(1476, 1476, 20 + 4 + 8 * 12);
    assertThat(decodeAll(packets)).isEqualTo(msgs);
  }

  @Test
  void everyExtraSectionCostsFourBytes() {
    RandomMessages r = new RandomMessages(5);
    PfsyncPacketBuilder b = new PfsyncPacketBuilder(BUDGET_1500);
    // 5 states: 20 + 4 + 1320 = 1344; 136 bytes left.
    for (int i = 0; i < 5; i++) {
      assertThat(b.add(new Upd(r.state()))).isTrue();
    }
    assertThat(b.size()).isEqualTo(1344);
    // 84 + 4 (new section) = 88 -> 1432; then a 12-byte DEL_C in a new section: 16 -> 1448.
    UpdC c = (UpdC) r.message(2);
    assertThat(b.costOf(c)).isEqualTo(88);
    assertThat(b.add(c)).isTrue();
    assertThat(b.costOf(c)).isEqualTo(84);
    assertThat(b.add(new DelC(1, 1))).isTrue();
    assertThat(b.size()).isEqualTo(1448);
    // 2 more DEL_C fit (1472), a third would make 1484.
    assertThat(b.add(new DelC(2, 1))).isTrue();
    assertThat(b.add(new DelC(3, 1))).isTrue();
    assertThat(b.size()).isEqualTo(1472);
    assertThat(b.fits(new DelC(4, 1))).isFalse();
    assertThat(b.add(new DelC(4, 1))).isFalse();
    assertThat(b.size()).isEqualTo(1472);
    assertThat(b.messageCount()).isEqualTo(9);
    assertThat(b.build()).hasSize(1472);
  }

  @Test
  void randomMixesNeverExceedTheBudgetAndKeepEveryMessage() {
    RandomMessages r = new RandomMessages(6);
    for (int round = 0; round < 200; round++) {
      int budget = PfsyncPacketBuilder.MIN_BUDGET + r.random().nextInt(9000);
      List<PfsyncMessage> msgs =
          IntStream.range(0, r.random().nextInt(80)).mapToObj(i -> r.message()).toList();
      List<byte[]> packets = PfsyncEncoder.pack(msgs, budget);
      for (byte[] p : packets) {
        assertThat(p.length).isLessThanOrEqualTo(budget);
        assertThat((p[2] & 0xff) << 8 | (p[3] & 0xff)).isEqualTo(p.length);
      }
      List<PfsyncMessage> back = decodeAll(packets);
      assertThat(back).containsExactlyInAnyOrderElementsOf(msgs);
      // Per action, the add order survives grouping and splitting.
      for (int action = 0; action < PfsyncAction.MAX; action++) {
        int a = action;
        assertThat(back.stream().filter(m -> m.action() == a).toList())
            .isEqualTo(msgs.stream().filter(m -> m.action() == a).toList());
      }
    }
  }

  @Test
  void largestBudgetStillProducesAValidLength() {
    RandomMessages r = new RandomMessages(7);
    List<PfsyncMessage> msgs =
        IntStream.range(0, 300).mapToObj(i -> (PfsyncMessage) new Upd(r.state())).toList();
    List<byte[]> packets = PfsyncEncoder.pack(msgs, 65535);
    assertThat(packets)
        .extracting(p -> p.length)
        .containsExactly(20 + 4 + 248 * 264, 20 + 4 + 52 * 264);
    assertThat(decodeAll(packets)).isEqualTo(msgs);
    assertThat(PfsyncEncoder.pack(List.of(), 1480)).isEmpty();
  }
}
