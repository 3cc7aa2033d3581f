package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class TakeoverWindowsTest {
  static final int LIBERAL = ConntrackEntry.TCP_FLAG_BE_LIBERAL;
  static final int SCALE = ConntrackEntry.TCP_FLAG_WINDOW_SCALE;

  @Test
  void onlyTcpEntriesCheckedStrictlyInADirectionAreLoosened() throws Exception {
    ConntrackEntry own = tcp(40000, SCALE, SCALE); // created here: the kernel checks its windows
    ConntrackEntry fromPeer = tcp(40001, SCALE | LIBERAL, SCALE | LIBERAL); // written from a peer
    ConntrackEntry half = tcp(40002, LIBERAL, SCALE); // one direction strict
    ConntrackEntry udp =
        new ConntrackEntry(
            ConntrackEntry.AF_INET,
            ConntrackEntry.PROTO_UDP,
            new Tuple(ip("198.51.100.10"), ip("203.0.113.10"), 5353, 53),
            new Tuple(ip("203.0.113.10"), ip("198.51.100.10"), 53, 5353),
            ConntrackEntry.IPS_SEEN_REPLY,
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

    assertThat(TakeoverWindows.toLoosen(List.of(own, fromPeer, half, udp)))
        .containsExactly(own, half);
  }

  @Test
  void theKernelsEntriesGetTheFlagInBothDirections() throws Exception {
    InMemoryConntrack kernel = new InMemoryConntrack();
    ConntrackEntry own = tcp(40000, SCALE, SCALE);
    kernel.apply(own);
    for (ConntrackEntry e : TakeoverWindows.toLoosen(kernel.dump())) kernel.makeLiberal(e);
    ConntrackEntry after = kernel.dump().getFirst();
    assertThat(after.tcpFlagsOriginal()).isEqualTo(SCALE | LIBERAL);
    assertThat(after.tcpFlagsReply()).isEqualTo(SCALE | LIBERAL);
    assertThat(TakeoverWindows.toLoosen(kernel.dump())).isEmpty();
  }

  static ConntrackEntry tcp(int port, int flagsOriginal, int flagsReply) throws Exception {
    return new ConntrackEntry(
        ConntrackEntry.AF_INET,
        ConntrackEntry.PROTO_TCP,
        new Tuple(ip("198.51.100.10"), ip("203.0.113.10"), port, 5001),
        new Tuple(ip("203.0.113.10"), ip("198.51.100.10"), 5001, port),
        ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED,
        3600,
        ConntrackEntry.TCP_ESTABLISHED,
        flagsOriginal,
        flagsReply,
        7,
        7,
        -1,
        -1,
        0,
        0);
  }

  static InetAddress ip(String s) throws Exception {
    return InetAddress.getByName(s);
  }
}
