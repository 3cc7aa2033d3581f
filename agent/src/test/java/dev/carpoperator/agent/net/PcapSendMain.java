package dev.carpoperator.agent.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test helper run inside a lab host: sends CARP-shaped IPv4 and IPv6 frames (plus an ARP frame and
 * a corrupt one) with {@link PcapFrameIo}. Args: ifName rounds.
 */
public final class PcapSendMain {
  public static void main(String[] args) throws Exception {
    String ifName = args[0];
    int rounds = Integer.parseInt(args[1]);
    MacAddress vmac = MacAddress.virtual(7);
    byte[] payload = FramesTest.carpPayload();
    byte[] v4 =
        CarpFrames.ipv4Multicast(vmac, (Inet4Address) InetAddress.getByName("192.0.2.1"), payload);
    byte[] v6 =
        CarpFrames.ipv6Multicast(vmac, (Inet6Address) InetAddress.getByName("fe80::1"), payload);
    byte[] arp =
        AnnouncementFrames.gratuitousArp(vmac, (Inet4Address) InetAddress.getByName("192.0.2.100"));
    byte[] corrupt = v4.clone();
    corrupt[14 + 8] = 1; // TTL changed after the checksum: passes BPF, the parser must reject it
    AtomicLong own = new AtomicLong();
    try (PcapFrameIo io = PcapFrameIo.builder(ifName).open()) {
      io.start(f -> own.incrementAndGet());
      for (int i = 0; i < rounds; i++) {
        io.send(arp);
        io.send(corrupt);
        io.send(v4);
        io.send(v6);
        Thread.sleep(100);
      }
      Thread.sleep(200);
      System.out.println("OWN " + own.get());
      System.out.println("STATS " + io.stats());
    }
    System.out.println("CLOSED");
  }
}
