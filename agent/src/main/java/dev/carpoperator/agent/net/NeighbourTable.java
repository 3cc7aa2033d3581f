package dev.carpoperator.agent.net;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Finds the MAC address of a unicast CARP peer (OpenBSD {@code carppeer}) in the kernel's IPv4
 * neighbour table, {@code /proc/net/arp}, so adverts can be framed for it. When the kernel does not
 * know the peer yet, a one-byte UDP datagram to its discard port makes the kernel resolve it; the
 * advert waits for the next interval.
 */
public final class NeighbourTable {
  private static final long CACHE_NANOS = 10_000_000_000L;
  private static final int ATF_COM = 0x2; // entry complete

  private final Path arpTable;
  private final LongSupplier clock;
  private final Map<Inet4Address, Cached> cache = new ConcurrentHashMap<>();

  private record Cached(MacAddress mac, long at) {}

  public NeighbourTable() {
    this(Path.of("/proc/net/arp"), System::nanoTime);
  }

  NeighbourTable(Path arpTable, LongSupplier clock) {
    this.arpTable = arpTable;
    this.clock = clock;
  }

  /**
   * The peer's MAC on {@code ifName}, or null while it is unknown (resolution has then been
   * started).
   */
  public MacAddress lookup(String ifName, Inet4Address peer) {
    Cached c = cache.get(peer);
    long now = clock.getAsLong();
    if (c != null && now - c.at() < CACHE_NANOS) return c.mac();
    MacAddress mac = readKernelTable(ifName, peer);
    if (mac != null) {
      cache.put(peer, new Cached(mac, now));
      return mac;
    }
    probe(peer);
    return null;
  }

  /** Forget a peer's MAC, e.g. after a send to it failed. */
  public void forget(Inet4Address peer) {
    cache.remove(peer);
  }

  MacAddress readKernelTable(String ifName, Inet4Address peer) {
    List<String> lines;
    try {
      lines = Files.readAllLines(arpTable);
    } catch (IOException e) {
      return null;
    }
    String ip = peer.getHostAddress();
    for (String line :
        lines.subList(Math.min(1, lines.size()), lines.size())) { // first line is the header
      String[] f = line.trim().split("\\s+");
      // IP address, HW type, Flags, HW address, Mask, Device
      if (f.length < 6 || !f[0].equals(ip) || !f[5].equals(ifName)) continue;
      try {
        if ((Integer.decode(f[2]) & ATF_COM) == 0) return null;
        return MacAddress.parse(f[3]);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return null;
  }

  private static void probe(Inet4Address peer) {
    try (DatagramChannel ch = DatagramChannel.open()) {
      ch.send(ByteBuffer.wrap(new byte[] {0}), new InetSocketAddress(peer, 9));
    } catch (IOException e) {
      // No route to the peer: sending adverts to it fails and is counted; nothing else to do here.
    }
  }
}
