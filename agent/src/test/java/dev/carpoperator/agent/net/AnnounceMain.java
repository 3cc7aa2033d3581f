package dev.carpoperator.agent.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * Test helper run inside a lab host: sends a gratuitous ARP and an unsolicited NA. Args: ifName mac
 * vip4 vip6.
 */
public final class AnnounceMain {
  public static void main(String[] args) throws Exception {
    MacAddress mac = MacAddress.parse(args[1]);
    Inet6Address vip6 = (Inet6Address) InetAddress.ofLiteral(args[3]);
    try (PcapFrameIo io = PcapFrameIo.builder(args[0]).filter(null).open()) {
      io.send(AnnouncementFrames.gratuitousArp(mac, (Inet4Address) InetAddress.ofLiteral(args[2])));
      io.send(AnnouncementFrames.unsolicitedNa(mac, vip6, vip6, false));
      System.out.println("STATS " + io.stats());
    }
  }
}
