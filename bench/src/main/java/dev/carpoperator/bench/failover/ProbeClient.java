package dev.carpoperator.bench.failover;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.pcap4j.core.BpfProgram.BpfCompileMode;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapHandle.TimestampPrecision;
import org.pcap4j.core.PcapNetworkInterface.PromiscuousMode;

/**
 * Runs in the client namespace: sends a UDP probe to the virtual address every interval and prints
 * the replies as runs per router node ({@link ReplyRuns}), with {@link System#nanoTime()} arrival
 * times. It also captures the ARP frames that announce the virtual address (sender IP = the virtual
 * address) and prints them with their kernel capture time: {@code arp <epochMicros> <senderMac>
 * <targetIp> <destinationMac>}.
 *
 * <pre>ProbeClient VIP PORT INTERVAL_MICROS INTERFACE</pre>
 */
public final class ProbeClient {
  /** A pause longer than this ends a run: several probe intervals, well under any failover. */
  static final long RUN_SPLIT_NANOS = 5_000_000;

  private ProbeClient() {}

  public static void main(String[] args) throws Exception {
    InetAddress vip = InetAddress.getByName(args[0]);
    int port = Integer.parseInt(args[1]);
    long intervalNanos = Long.parseLong(args[2]) * 1000;
    String ifName = args[3];
    Thread arp =
        Thread.ofPlatform()
            .daemon()
            .name("arp-capture")
            .start(() -> captureArp(ifName, (Inet4Address) vip));
    try (DatagramChannel ch = DatagramChannel.open()) {
      ch.bind(new InetSocketAddress(0));
      Thread.ofPlatform()
          .daemon()
          .name("probe-sender")
          .start(() -> send(ch, new InetSocketAddress(vip, port), intervalNanos));
      ReplyRuns runs = new ReplyRuns(RUN_SPLIT_NANOS);
      ByteBuffer in = ByteBuffer.allocate(64);
      while (arp.isAlive()) {
        in.clear();
        ch.receive(in);
        long now = System.nanoTime();
        if (in.position() <= 8) continue;
        String node = new String(in.array(), 8, in.position() - 8, StandardCharsets.US_ASCII);
        print(runs.reply(node, now));
      }
    }
  }

  /** One probe per interval; after a stall it resumes the pace instead of sending a burst. */
  private static void send(DatagramChannel ch, InetSocketAddress to, long intervalNanos) {
    ByteBuffer out = ByteBuffer.allocate(8);
    long next = System.nanoTime();
    for (long seq = 0; ; seq++) {
      out.clear();
      out.putLong(seq).flip();
      try {
        ch.send(out, to);
      } catch (IOException e) {
        // e.g. no route while the neighbour entry is failed: the probe is lost, as a client's
        // packet would be
      }
      next = Math.max(next + intervalNanos, System.nanoTime());
      LockSupport.parkNanos(next - System.nanoTime());
    }
  }

  private static void captureArp(String ifName, Inet4Address vip) {
    byte[] vipBytes = vip.getAddress();
    HexFormat mac = HexFormat.ofDelimiter(":");
    try (PcapHandle h =
        new PcapHandle.Builder(ifName)
            .snaplen(128)
            .promiscuousMode(PromiscuousMode.NONPROMISCUOUS)
            .timeoutMillis(10)
            .immediateMode(true)
            .timestampPrecision(TimestampPrecision.MICRO)
            .build()) {
      h.setFilter("arp", BpfCompileMode.OPTIMIZE);
      System.out.println("capture ready");
      System.out.flush();
      while (true) {
        byte[] f = h.getNextRawPacket();
        // Ethernet + ARP for IPv4: sender MAC at 22, sender IP at 28, target IP at 38
        if (f == null || f.length < 42 || !Arrays.equals(f, 28, 32, vipBytes, 0, 4)) continue;
        var ts = h.getTimestamp();
        long micros = ts.getTime() / 1000 * 1_000_000 + ts.getNanos() / 1000;
        String target = InetAddress.getByAddress(Arrays.copyOfRange(f, 38, 42)).getHostAddress();
        print(
            List.of(
                "arp "
                    + micros
                    + " "
                    + mac.formatHex(f, 22, 28)
                    + " "
                    + target
                    + " "
                    + mac.formatHex(f, 0, 6)));
      }
    } catch (Exception e) {
      System.out.println("capture failed: " + e);
      System.out.flush();
    }
  }

  private static synchronized void print(List<String> lines) {
    if (lines.isEmpty()) return;
    lines.forEach(System.out::println);
    System.out.flush();
  }
}
