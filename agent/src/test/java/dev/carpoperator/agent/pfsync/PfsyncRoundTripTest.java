package dev.carpoperator.agent.pfsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult.Decoded;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Bus;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Clr;
import dev.carpoperator.agent.pfsync.PfsyncMessage.DelC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Ins;
import dev.carpoperator.agent.pfsync.PfsyncMessage.UpdC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.UpdReq;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PfsyncRoundTripTest {

  @Test
  void everyMessageTypeRoundTrips() {
    RandomMessages r = new RandomMessages(1);
    for (int kind = 0; kind < RandomMessages.KINDS; kind++) {
      for (int i = 0; i < 300; i++) {
        PfsyncMessage m = r.message(kind);
        PfsyncPacketBuilder b = new PfsyncPacketBuilder(1480);
        assertThat(b.add(m)).isTrue();
        byte[] wire = b.build();
        assertThat(wire).hasSize(20 + 4 + PfsyncAction.size(m.action()));
        Decoded d = (Decoded) PfsyncDecoder.decode(wire);
        assertThat(d.messages()).containsExactly(m);
        assertThat(d.header().version()).isEqualTo(6);
        assertThat(d.header().length()).isEqualTo(wire.length);
        assertThat(d.header().cksumIsZero()).isTrue();
        assertThat(d.extendedSections()).isZero();
      }
    }
  }

  @Test
  void multiSectionPacketGroupsByActionInFirstSeenOrder() {
    RandomMessages r = new RandomMessages(2);
    List<PfsyncMessage> in = new ArrayList<>();
    for (int i = 0; i < 14; i++) {
      in.add(r.message(new int[] {1, 3, 4, 5, 2, 0}[i % 6]));
    }
    in.add(r.message(6));
    PfsyncPacketBuilder b = new PfsyncPacketBuilder(1480);
    for (PfsyncMessage m : in) {
      assertThat(b.add(m)).isTrue();
    }
    // Expected: messages grouped per action, sections in first-appearance order.
    Map<Integer, List<PfsyncMessage>> groups = new LinkedHashMap<>();
    for (PfsyncMessage m : in) {
      groups.computeIfAbsent(m.action(), a -> new ArrayList<>()).add(m);
    }
    List<PfsyncMessage> expected = groups.values().stream().flatMap(List::stream).toList();
    byte[] wire = b.build();
    int expectedSize =
        20 + groups.size() * 4 + in.stream().mapToInt(m -> PfsyncAction.size(m.action())).sum();
    assertThat(wire).hasSize(expectedSize);
    assertThat(b.size()).isEqualTo(expectedSize);
    assertThat(b.messageCount()).isEqualTo(in.size());

    // Walk the subheaders by hand.
    int pos = 20;
    for (Map.Entry<Integer, List<PfsyncMessage>> g : groups.entrySet()) {
      assertThat(wire[pos] & 0xff).isEqualTo(g.getKey());
      assertThat(wire[pos + 1] & 0xff).isEqualTo(PfsyncAction.size(g.getKey()) / 4);
      assertThat((wire[pos + 2] & 0xff) << 8 | (wire[pos + 3] & 0xff))
          .isEqualTo(g.getValue().size());
      pos += 4 + g.getValue().size() * PfsyncAction.size(g.getKey());
    }
    assertThat(pos).isEqualTo(wire.length);
    assertThat(((Decoded) PfsyncDecoder.decode(wire)).messages()).isEqualTo(expected);
  }

  @Test
  void builderClearStartsAFreshPacket() {
    PfsyncPacketBuilder b = new PfsyncPacketBuilder(1480);
    b.add(new DelC(1, 2));
    b.clear();
    assertThat(b.isEmpty()).isTrue();
    assertThat(b.size()).isEqualTo(20);
    assertThat(b.build()).hasSize(20);
    b.add(UpdReq.BULK);
    assertThat(((Decoded) PfsyncDecoder.decode(b.build())).messages()).containsExactly(UpdReq.BULK);
  }

  @Test
  void emptyPacketIsJustTheHeader() {
    byte[] wire = new PfsyncPacketBuilder(1480).build();
    assertThat(wire).hasSize(20);
    Decoded d = (Decoded) PfsyncDecoder.decode(wire);
    assertThat(d.messages()).isEmpty();
  }

  @Test
  void modelHelpers() throws Exception {
    assertThat(UpdReq.BULK.isBulkRequest()).isTrue();
    assertThat(new UpdReq(0, 1).isBulkRequest()).isFalse();
    assertThat(new UpdReq(1, 0).isBulkRequest()).isFalse();
    PfAddr v4 = PfAddr.of(InetAddress.getByName("192.0.2.1"));
    assertThat(v4).isEqualTo(PfAddr.ipv4(0xc0000201));
    assertThat(v4.toInetAddress(Pfsync.AF_INET)).isEqualTo(InetAddress.getByName("192.0.2.1"));
    PfAddr v6 = PfAddr.of(InetAddress.getByName("2001:db8::1"));
    assertThat(v6.toInetAddress(Pfsync.AF_INET6)).isEqualTo(InetAddress.getByName("2001:db8::1"));
    assertThat(PfAddr.of(v6.toBytes())).isEqualTo(v6);
    assertThatThrownBy(() -> v4.toInetAddress(10)).isInstanceOf(IllegalArgumentException.class);
    StatePeer p = StatePeer.of(PfPeerState.TCPS_ESTABLISHED, 1, 2, 0, 100, 1460, 0x87);
    assertThat(p.windowScaleSeen()).isTrue();
    assertThat(p.windowScaleShift()).isEqualTo(7);
    assertThat(p.scrubValid()).isFalse();
    assertThat(PfTimeout.fromIndex(2)).contains(PfTimeout.TCP_ESTABLISHED);
    assertThat(PfTimeout.TCP_ESTABLISHED.defaultValue()).isEqualTo(86400);
    assertThat(PfTimeout.fromIndex(20)).isEmpty();
    for (PfTimeout t : PfTimeout.values()) {
      assertThat(t.index()).isEqualTo(t.ordinal());
    }
    PfsyncState s = PfsyncState.builder().id(5).build();
    assertThat(s.rule()).isEqualTo(-1);
    assertThat(s.natRule()).isEqualTo(-1);
    assertThat(s.key(Pfsync.PF_SK_WIRE)).isSameAs(s.wireKey());
    assertThat(s.toBuilder().build()).isEqualTo(s);
  }

  @Test
  void modelRefusesValuesThatCannotBeEncoded() {
    assertThatThrownBy(() -> new Clr("x".repeat(17), 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Clr("a\0b", 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Clr("\u20ac", 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Bus(1, 0, 256)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new StateKey(PfAddr.ZERO, PfAddr.ZERO, 65536, 0, 0, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new UpdC(1, StatePeer.EMPTY, StatePeer.EMPTY, 1, 1, 0, 0x100))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PfsyncState.builder().stateFlags(0x10000).build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PfsyncMessage.Tdb(1, new byte[27], 0, 0, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PfsyncPacketBuilder(287))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PfsyncPacketBuilder(65536))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(new PfsyncPacketBuilder(288).add(new Ins(PfsyncState.builder().build()))).isTrue();
  }
}
