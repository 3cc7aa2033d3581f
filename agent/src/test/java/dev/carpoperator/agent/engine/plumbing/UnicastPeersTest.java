package dev.carpoperator.agent.engine.plumbing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.FrameIoException;
import dev.carpoperator.agent.net.MacAddress;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class UnicastPeersTest {
  static final Inet4Address SELF = ip("192.0.2.1");
  static final Inet4Address KNOWN = ip("192.0.2.2");
  static final Inet4Address UNKNOWN = ip("192.0.2.3");
  static final MacAddress KNOWN_MAC = MacAddress.parse("02:00:00:00:00:02");

  final List<String> lookups = new ArrayList<>();
  final List<String> sent = new ArrayList<>();
  final UnicastPeers peers =
      new UnicastPeers(
          (ifName, peer) -> {
            lookups.add(ifName + " " + peer.getHostAddress());
            return Map.of(KNOWN, KNOWN_MAC).get(peer);
          });

  final FrameIo io =
      new FrameIo() {
        @Override
        public void send(byte[] frame) {
          if (frame.length == 0) throw new FrameIoException("refused");
          sent.add(new String(frame));
        }

        @Override
        public void start(Consumer<byte[]> receiver) {}

        @Override
        public Stats stats() {
          return null;
        }

        @Override
        public void close() {}
      };

  static Inet4Address ip(String s) {
    return (Inet4Address) InetAddress.ofLiteral(s);
  }

  @Test
  void skipsItselfFramesEachResolvedPeerAndReportsTheUnresolved() {
    List<Inet4Address> unresolved =
        peers.send(
            io,
            "eth0",
            List.of(SELF, KNOWN, UNKNOWN),
            Set.of(SELF, ip("10.0.0.1")),
            (mac, peer) -> (mac + ">" + peer.getHostAddress()).getBytes());
    assertThat(sent).containsExactly("02:00:00:00:00:02>192.0.2.2");
    assertThat(unresolved).containsExactly(UNKNOWN);
    assertThat(lookups).containsExactly("eth0 192.0.2.2", "eth0 192.0.2.3");
  }

  @Test
  void aFailedSendIsThrown() {
    assertThatThrownBy(
            () -> peers.send(io, "eth0", List.of(KNOWN), Set.of(), (mac, peer) -> new byte[0]))
        .isInstanceOf(FrameIoException.class);
  }

  @Test
  void noPeersNoFrames() {
    assertThat(peers.send(io, "eth0", List.of(), Set.of(), (m, p) -> new byte[1])).isEmpty();
    assertThat(sent).isEmpty();
  }
}
