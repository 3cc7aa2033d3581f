package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET6;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_ASSURED;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_SEEN_REPLY;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link CtNetlinkEncoder} against libnetfilter_conntrack itself: for every part and a corpus of
 * entries (TCP and UDP over IPv4 and IPv6, with and without source and destination NAT, zones,
 * marks, unknown TCP state, every ICMP and ICMPv6 type), the attributes it writes are the bytes
 * {@code nfct_nlmsg_build} writes for {@link NfctCodec#build}. Needs only the library (no socket,
 * no privileges).
 */
class CtNetlinkEncoderTest {
  static final NfConntrack NFCT = Native.load(NfConntrack.LIBRARY, NfConntrack.class);
  static final NfctCodec CODEC = new NfctCodec(NFCT);
  static final int HEADER = 20; // nlmsghdr + nfgenmsg

  static final InetAddress C4 = InetAddress.ofLiteral("192.0.2.2");
  static final InetAddress S4 = InetAddress.ofLiteral("203.0.113.10");
  static final InetAddress N4 = InetAddress.ofLiteral("198.51.100.7");
  static final InetAddress C6 = InetAddress.ofLiteral("2001:db8::2");
  static final InetAddress S6 = InetAddress.ofLiteral("2001:db8::10");
  static final InetAddress N6 = InetAddress.ofLiteral("2001:db8::99");

  @Test
  void everyPartOfEveryKindOfEntryIsWhatTheLibraryBuilds() {
    List<ConntrackEntry> corpus = corpus();
    int compared = 0;
    for (ConntrackEntry e : corpus) {
      assertThat(CtNetlinkEncoder.encodes(e)).as("%s", e).isTrue();
      for (NfctCodec.Part part : NfctCodec.Part.values()) {
        if (part == NfctCodec.Part.LIBERAL && !e.isTcp()) continue; // only ever sent for TCP
        assertThat(hex(ours(e, part))).as("%s %s", part, e).isEqualTo(hex(library(e, part)));
        compared++;
      }
    }
    assertThat(compared).isGreaterThan(2000);
  }

  @Test
  void otherProtocolsAndFamiliesAreLeftToTheLibrary() {
    ConntrackEntry sctp =
        new ConntrackEntry(
            AF_INET,
            132,
            new Tuple(C4, S4, 1, 2),
            new Tuple(S4, C4, 2, 1),
            0,
            30,
            -1,
            0,
            0,
            0,
            0,
            -1,
            -1,
            0,
            0);
    assertThat(CtNetlinkEncoder.encodes(sctp)).isFalse();
  }

  static List<ConntrackEntry> corpus() {
    List<ConntrackEntry> out = new ArrayList<>();
    int status = IPS_SEEN_REPLY | IPS_ASSURED;
    for (boolean v6 : new boolean[] {false, true}) {
      int family = v6 ? AF_INET6 : AF_INET;
      InetAddress c = v6 ? C6 : C4, s = v6 ? S6 : S4, n = v6 ? N6 : N4;
      Tuple orig = new Tuple(c, s, 40000, 443);
      List<Tuple> replies =
          List.of(
              orig.inverted(),
              new Tuple(s, n, 443, 61000), // source NAT
              new Tuple(n, c, 8443, 40000), // destination NAT
              new Tuple(n, n, 8443, 61000), // both
              new Tuple(s, c, 443, 40001)); // a port change only
      for (int proto : new int[] {6, 17})
        for (Tuple reply : replies)
          for (int zone : new int[] {0, 5, 65535})
            for (int state : proto == 6 ? new int[] {-1, 0, 3, 10} : new int[] {-1})
              out.add(
                  new ConntrackEntry(
                      family,
                      proto,
                      orig,
                      reply,
                      zone == 5 ? 0 : status,
                      zone == 65535 ? 5_000_000_000L : 3600,
                      state,
                      proto == 6 ? 0x0c : 0,
                      proto == 6 ? 0x2c : 0,
                      proto == 6 ? 7 : 0,
                      proto == 6 ? 14 : 0,
                      -1,
                      -1,
                      zone == 0 ? 42 : -1,
                      zone));
      int icmp = v6 ? 58 : 1;
      for (int type = 0; type < 256; type++)
        out.add(
            new ConntrackEntry(
                family,
                icmp,
                new Tuple(c, s, 77, 0),
                new Tuple(s, c, 77, 0),
                type % 2 == 0 ? 0 : status,
                30,
                -1,
                0,
                0,
                0,
                0,
                type,
                type % 5,
                0,
                type % 3));
    }
    return out;
  }

  static byte[] ours(ConntrackEntry e, NfctCodec.Part part) {
    ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
    b.position(HEADER);
    CtNetlinkEncoder.encode(b, e, part);
    byte[] out = new byte[b.position() - HEADER];
    b.get(HEADER, out);
    return out;
  }

  static byte[] library(ConntrackEntry e, NfctCodec.Part part) {
    try (Memory m = new Memory(4096)) {
      m.clear();
      m.setInt(0, HEADER);
      Pointer ct = CODEC.build(e, part);
      try {
        assertThat(NFCT.nfct_nlmsg_build(m, ct)).isZero();
      } finally {
        NFCT.nfct_destroy(ct);
      }
      return m.getByteArray(HEADER, m.getInt(0) - HEADER);
    }
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
