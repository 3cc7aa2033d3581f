package dev.carpoperator.agent.pfsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult.Decoded;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Bus;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Clr;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Del;
import dev.carpoperator.agent.pfsync.PfsyncMessage.DelC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Ins;
import dev.carpoperator.agent.pfsync.PfsyncMessage.InsAck;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Tdb;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Upd;
import dev.carpoperator.agent.pfsync.PfsyncMessage.UpdC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.UpdReq;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Encoder output compared with bytes placed at the offsets of docs/protocols/pfsync.md §2–5 by
 * {@link Layout} (literal offsets, not the codec's constants); each vector is also decoded back.
 * Not a round trip: the expected bytes come from the document.
 */
class PfsyncWireVectorTest {

  static final HexFormat HEX = HexFormat.of();

  /**
   * An inbound TCP state 192.0.2.10:51000 -> 198.51.100.20:443, rdr-to 10.0.0.5:8443, every field
   * distinct.
   */
  static PfsyncState sampleState() {
    return PfsyncState.builder()
        .id(0x0102030405060708L)
        .ifname("vio0")
        .wireKey(
            new StateKey(
                PfAddr.ipv4(0xc000020a), PfAddr.ipv4(0xc6336414), 51000, 443, 7, Pfsync.AF_INET))
        .stackKey(
            new StateKey(
                PfAddr.ipv4(0xc000020a), PfAddr.ipv4(0x0a000005), 51000, 8443, 7, Pfsync.AF_INET))
        .src(
            new StatePeer(
                Pfsync.PFSS_TIMESTAMP,
                64,
                Pfsync.PFSYNC_SCRUB_FLAG_VALID,
                0x11223344,
                0xa1a2a3a4,
                0xb1b2b3b4,
                0xc1c2c3c4,
                65535,
                1460,
                PfPeerState.TCPS_ESTABLISHED,
                Pfsync.PF_WSCALE_FLAG | 7))
        .dst(
            new StatePeer(
                0,
                0,
                0,
                0,
                0xd1d2d3d4,
                0xe1e2e3e4,
                0,
                29200,
                1400,
                PfPeerState.TCPS_ESTABLISHED,
                Pfsync.PF_WSCALE_FLAG | 9))
        .rtAddr(PfAddr.ipv4(0xcb007101))
        .rule(12)
        .anchor(-1)
        .natRule(-1)
        .creation(3600)
        .expire(86000)
        .packets(0x0000000100000002L, 0x0000000300000004L)
        .bytes(0x123456789abcdef0L, 0x0fedcba987654321L)
        .creatorid(0xdeadbeef)
        .rtableid(3, 4)
        .maxMss(1360)
        .af(Pfsync.AF_INET)
        .proto(6)
        .direction(Pfsync.PF_IN)
        .log(1)
        .rt(Pfsync.PF_RT_ROUTETO)
        .timeout(PfTimeout.TCP_ESTABLISHED.index())
        .syncFlags(Pfsync.PFSYNC_FLAG_SRCNODE)
        .updates(5)
        .minTtl(32)
        .setTos(0x10)
        .stateFlags(PfStateFlags.ACK | PfStateFlags.SCRUB_TCP)
        .setPrio(3, 6)
        .build();
  }

  /** sampleState() laid out from the tables of docs/protocols/pfsync.md §5. */
  static Layout sampleStateLayout() {
    Layout l = new Layout(264);
    l.be64(0, 0x0102030405060708L).text(8, 16, "vio0");
    // key[0] = wire at 24: addr[0] 0, addr[1] 16, port[0] 32, port[1] 34, rdomain 36, af 38, pad 39
    l.ipv4(24, 192, 0, 2, 10)
        .ipv4(24 + 16, 198, 51, 100, 20)
        .be16(24 + 32, 51000)
        .be16(24 + 34, 443)
        .be16(24 + 36, 7)
        .u8(24 + 38, 2);
    // key[1] = stack at 64
    l.ipv4(64, 192, 0, 2, 10)
        .ipv4(64 + 16, 10, 0, 0, 5)
        .be16(64 + 32, 51000)
        .be16(64 + 34, 8443)
        .be16(64 + 36, 7)
        .u8(64 + 38, 2);
    // src peer at 104: pfss_flags 0, pfss_ttl 2, scrub_flag 3, ts_mod 4, seqlo 8, seqhi 12, seqdiff
    // 16,
    // max_win 20, mss 22, state 24, wscale 25, pad 26..31
    l.be16(104, 1)
        .u8(104 + 2, 64)
        .u8(104 + 3, 1)
        .be32(104 + 4, 0x11223344)
        .be32(104 + 8, 0xa1a2a3a4L)
        .be32(104 + 12, 0xb1b2b3b4L)
        .be32(104 + 16, 0xc1c2c3c4L)
        .be16(104 + 20, 65535)
        .be16(104 + 22, 1460)
        .u8(104 + 24, 4)
        .u8(104 + 25, 0x87);
    l.be16(136, 0)
        .u8(136 + 2, 0)
        .u8(136 + 3, 0)
        .be32(136 + 4, 0)
        .be32(136 + 8, 0xd1d2d3d4L)
        .be32(136 + 12, 0xe1e2e3e4L)
        .be32(136 + 16, 0)
        .be16(136 + 20, 29200)
        .be16(136 + 22, 1400)
        .u8(136 + 24, 4)
        .u8(136 + 25, 0x89);
    l.ipv4(168, 203, 0, 113, 1);
    l.be32(184, 12).be32(188, 0xffffffffL).be32(192, 0xffffffffL).be32(196, 3600).be32(200, 86000);
    // packets[2][2] and bytes[2][2]: each counter as high BE32 then low BE32
    l.be32(204, 1).be32(208, 2).be32(212, 3).be32(216, 4);
    l.be32(220, 0x12345678).be32(224, 0x9abcdef0L).be32(228, 0x0fedcba9).be32(232, 0x87654321L);
    l.be32(236, 0xdeadbeefL).be32(240, 3).be32(244, 4).be16(248, 1360);
    l.u8(250, 2)
        .u8(251, 6)
        .u8(252, 1)
        .u8(253, 1)
        .u8(254, 1)
        .u8(255, 2)
        .u8(256, 0x04)
        .u8(257, 5)
        .u8(258, 32)
        .u8(259, 0x10)
        .be16(260, 0x0110)
        .u8(262, 3)
        .u8(263, 6);
    return l;
  }

  @Test
  void stateLayoutCoversEveryByteExceptDocumentedPads() {
    List<Integer> pads = new ArrayList<>();
    pads.add(24 + 39);
    pads.add(64 + 39);
    pads.addAll(Layout.range(104 + 26, 104 + 32));
    pads.addAll(Layout.range(136 + 26, 136 + 32));
    assertThat(sampleStateLayout().unwritten()).isEqualTo(pads);
  }

  @Test
  void fullStateMatchesDocumentedOffsets() {
    byte[] expected = sampleStateLayout().bytes();
    for (PfsyncMessage m :
        List.of(new Ins(sampleState()), new Upd(sampleState()), new Del(sampleState()))) {
      assertThat(HEX.formatHex(PfsyncEncoder.encodeMessage(m))).isEqualTo(HEX.formatHex(expected));
    }
  }

  @Test
  void fullStateDecodesFromDocumentedBytes() {
    byte[] packet = packet(13, 66, 1, sampleStateLayout().bytes());
    assertThat(messagesOf(packet)).containsExactly(new Ins(sampleState()));
    assertThat(messagesOf(packet(14, 66, 1, sampleStateLayout().bytes())))
        .containsExactly(new Upd(sampleState()));
    assertThat(messagesOf(packet(6, 66, 1, sampleStateLayout().bytes())))
        .containsExactly(new Del(sampleState()));
  }

  @Test
  void ipv6StateKey() {
    byte[] a0 = HEX.parseHex("20010db8000000000000000000000001");
    byte[] a1 = HEX.parseHex("20010db80000000000000000000000ff");
    PfsyncState s =
        sampleState().toBuilder()
            .af(24)
            .keys(new StateKey(PfAddr.of(a0), PfAddr.of(a1), 0xfffe, 1, 0xffff, Pfsync.AF_INET6))
            .build();
    byte[] wire = PfsyncEncoder.encodeMessage(new Ins(s));
    Layout k =
        new Layout(40)
            .raw(0, a0)
            .raw(16, a1)
            .be16(32, 0xfffe)
            .be16(34, 1)
            .be16(36, 0xffff)
            .u8(38, 24);
    assertThat(k.unwritten()).containsExactly(39);
    assertThat(HEX.formatHex(wire, 24, 64)).isEqualTo(HEX.formatHex(k.bytes()));
    assertThat(HEX.formatHex(wire, 64, 104)).isEqualTo(HEX.formatHex(k.bytes()));
    assertThat(wire[250]).isEqualTo((byte) 24);
  }

  @Test
  void updCMatchesDocumentedOffsets() {
    StatePeer src = sampleState().src();
    StatePeer dst = sampleState().dst();
    UpdC m =
        new UpdC(
            0x1122334455667788L, src, dst, 0xcafef00d, 120, PfTimeout.TCP_CLOSING.index(), 0x12);
    Layout l = new Layout(84).be64(0, 0x1122334455667788L);
    l.raw(8, java.util.Arrays.copyOfRange(sampleStateLayout().bytes(), 104, 136));
    l.raw(40, java.util.Arrays.copyOfRange(sampleStateLayout().bytes(), 136, 168));
    l.be32(72, 0xcafef00dL).be32(76, 120).u8(80, 3).u8(81, 0x12);
    assertThat(l.unwritten()).containsExactly(82, 83);
    assertThat(HEX.formatHex(PfsyncEncoder.encodeMessage(m))).isEqualTo(HEX.formatHex(l.bytes()));
    assertThat(messagesOf(packet(4, 21, 1, l.bytes()))).containsExactly(m);
  }

  @Test
  void smallMessagesMatchDocumentedOffsets() {
    Layout clr = new Layout(20).text(0, 16, "em0").be32(16, 0x01020304);
    assertVector(new Clr("em0", 0x01020304), clr, 0, 5);
    Layout clrAll = new Layout(20).text(0, 16, "").be32(16, 0x01020304);
    assertVector(new Clr(Clr.ALL_INTERFACES, 0x01020304), clrAll, 0, 5);
    // A 16-character name fills the field with no NUL (OpenBSD writes at most 15, but the field
    // allows 16).
    assertVector(
        new Clr("abcdefghijklmnop", 1),
        new Layout(20).text(0, 16, "abcdefghijklmnop").be32(16, 1),
        0,
        5);

    assertVector(
        new InsAck(0x8877665544332211L, 0xa0b0c0d0),
        new Layout(12).be64(0, 0x8877665544332211L).be32(8, 0xa0b0c0d0L),
        2,
        3);
    assertVector(new UpdReq(42, 0x0badcafe), new Layout(12).be64(0, 42).be32(8, 0x0badcafe), 5, 3);
    assertVector(UpdReq.BULK, new Layout(12).be64(0, 0).be32(8, 0), 5, 3);
    assertVector(new DelC(-1L, -2), new Layout(12).be64(0, -1L).be32(8, 0xfffffffeL), 7, 3);

    Layout bus = new Layout(12).be32(0, 0x12345678).be32(4, 300).u8(8, 2);
    assertThat(bus.unwritten()).containsExactly(9, 10, 11);
    assertVector(new Bus(0x12345678, 300, Bus.END), bus, 10, 3);
  }

  @Test
  void tdbMatchesDocumentedOffsets() {
    byte[] sockaddr = new byte[28];
    sockaddr[0] = 16; // BSD sockaddr_in: sin_len, sin_family AF_INET, port, address
    sockaddr[1] = 2;
    sockaddr[4] = (byte) 192;
    sockaddr[7] = 1;
    Tdb t = new Tdb(0x00001001, sockaddr, 0x0102030405060708L, 0x1112131415161718L, 50, 9, 0x0304);
    Layout l =
        new Layout(52)
            .be32(0, 0x1001)
            .raw(4, sockaddr)
            .be64(32, 0x0102030405060708L)
            .be64(40, 0x1112131415161718L)
            .u8(48, 50)
            .u8(49, 9)
            .be16(50, 0x0304);
    assertVector(t, l, 15, 13);
  }

  /** The bulk request, written out byte by byte from docs/protocols/pfsync.md §2 and §4. */
  @Test
  void bulkRequestPacketLiteral() {
    String expected =
        "06"
            + "00"
            + "0024"
            + "00".repeat(16) // header: version 6, pad, len 36, pfcksum zero
            + "05"
            + "03"
            + "0001" // subheader: UPD_REQ, 3 words, 1 message
            + "0000000000000000"
            + "00000000"; // id 0, creatorid 0
    PfsyncPacketBuilder b = PfsyncPacketBuilder.forMtu(1500);
    assertThat(b.add(UpdReq.BULK)).isTrue();
    assertThat(HEX.formatHex(b.build())).isEqualTo(expected);
    assertThat(messagesOf(HEX.parseHex(expected))).containsExactly(UpdReq.BULK);
  }

  /** Two sections: DEL_C x2 then BUS START, header len covers everything. */
  @Test
  void multiSectionPacketLiteral() {
    String expected =
        "06"
            + "00"
            + "0040"
            + "00".repeat(16) // 20 + 4 + 24 + 4 + 12 = 64
            + "07"
            + "03"
            + "0002"
            + "0000000000000001"
            + "0a0b0c0d"
            + "0000000000000002"
            + "0a0b0c0d"
            + "0a"
            + "03"
            + "0001"
            + "0a0b0c0d"
            + "00000000"
            + "01"
            + "000000";
    List<PfsyncMessage> msgs =
        List.of(
            new DelC(1, 0x0a0b0c0d), new Bus(0x0a0b0c0d, 0, Bus.START), new DelC(2, 0x0a0b0c0d));
    List<byte[]> packets = PfsyncEncoder.pack(msgs, 1480);
    assertThat(packets).hasSize(1);
    assertThat(HEX.formatHex(packets.get(0))).isEqualTo(expected);
    assertThat(messagesOf(packets.get(0))).containsExactly(msgs.get(0), msgs.get(2), msgs.get(1));
  }

  private static void assertVector(PfsyncMessage m, Layout expected, int action, int words) {
    assertThat(PfsyncAction.size(action)).isEqualTo(words * 4).isEqualTo(expected.bytes().length);
    assertThat(m.action()).isEqualTo(action);
    assertThat(HEX.formatHex(PfsyncEncoder.encodeMessage(m)))
        .isEqualTo(HEX.formatHex(expected.bytes()));
    assertThat(messagesOf(packet(action, words, 1, expected.bytes()))).containsExactly(m);
  }

  /** A one-section v6 packet assembled by hand around {@code body}. */
  static byte[] packet(int action, int words, int count, byte[] body) {
    int len = 24 + body.length;
    byte[] p = new byte[len];
    p[0] = 6;
    p[2] = (byte) (len >>> 8);
    p[3] = (byte) len;
    p[20] = (byte) action;
    p[21] = (byte) words;
    p[22] = (byte) (count >>> 8);
    p[23] = (byte) count;
    System.arraycopy(body, 0, p, 24, body.length);
    return p;
  }

  static List<PfsyncMessage> messagesOf(byte[] packet) {
    PfsyncDecodeResult r = PfsyncDecoder.decode(packet);
    assertThat(r).isInstanceOf(Decoded.class);
    Decoded d = (Decoded) r;
    assertThat(d.skippedSections()).isEmpty();
    return d.messages();
  }
}
