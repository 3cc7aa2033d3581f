package dev.carpoperator.bench.failover;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;

/**
 * Runs on each router node: answers every UDP probe with the probe's sequence number and this
 * node's name. Bound to the wildcard address, so it answers whatever reaches the node: the virtual
 * address only while the node holds it.
 *
 * <pre>ProbeResponder NODE PORT</pre>
 */
public final class ProbeResponder {
  private ProbeResponder() {}

  public static void main(String[] args) throws Exception {
    byte[] name = args[0].getBytes(StandardCharsets.US_ASCII);
    try (DatagramChannel ch = DatagramChannel.open()) {
      ch.bind(new InetSocketAddress(Integer.parseInt(args[1])));
      ByteBuffer in = ByteBuffer.allocate(64);
      ByteBuffer out = ByteBuffer.allocate(8 + name.length);
      System.out.println("responder " + args[0] + " ready");
      while (true) {
        in.clear();
        SocketAddress from = ch.receive(in);
        if (in.position() < 8) continue;
        out.clear();
        out.putLong(in.getLong(0)).put(name).flip();
        ch.send(out, from);
      }
    }
  }
}
