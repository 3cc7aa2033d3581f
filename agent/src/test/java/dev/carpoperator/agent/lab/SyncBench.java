package dev.carpoperator.agent.lab;

import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_ASSURED;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_SEEN_REPLY;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_TCP;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_ESTABLISHED;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_FLAG_BE_LIBERAL;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_FLAG_SACK_PERM;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_FLAG_WINDOW_SCALE;

import dev.carpoperator.agent.linux.conntrack.NetfilterConntrack;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The in-namespace side of {@link SyncBenchRun}: creates conntrack entries on one node and watches
 * them arrive on the other, through {@link NetfilterConntrack} in the namespace it runs in (it
 * refuses the root namespace). Prints lines for the runner, asserts nothing. Times are {@link
 * System#nanoTime()}, i.e. CLOCK_MONOTONIC, which every process of the machine shares (network
 * namespaces do not change clocks), so a creation on one node and its arrival on the other can be
 * subtracted.
 *
 * <p>Entries are TCP ESTABLISHED (BE_LIBERAL, timeout 3600 s) from 203.0.113.G:(1024 + i) to
 * 203.0.113.250:443, where G, the "group", tells the runner's phases apart.
 *
 * <ul>
 *   <li>{@code watch}: listens to the NEW events of this namespace's table; prints {@code SEEN g
 *       sport nanos} for groups below {@value #COUNTED_FROM} and, every 20 ms, {@code COUNT g n
 *       firstNanos lastNanos} for the others that changed; {@code OVERRUN n} when the kernel
 *       dropped events.
 *   <li>{@code latency g rounds minPauseMs maxPauseMs}: one entry per round after a random pause;
 *       prints {@code CREATED g sport nanos} (taken just before the write).
 *   <li>{@code burst g n}: n entries as fast as one netlink socket writes them; prints {@code BURST
 *       g n startNanos endNanos}.
 *   <li>{@code count}: dumps the table; prints {@code TABLE g n} per group and {@code TABLE total
 *       n}.
 * </ul>
 */
public final class SyncBench {
  /** Groups from this one on are counted, not printed entry by entry. */
  static final int COUNTED_FROM = 10;

  static final InetAddress SERVER = InetAddress.ofLiteral("203.0.113.250");
  static final int FIRST_PORT = 1024;
  static final int MAX_ENTRIES = 60_000;
  private static final int LIBERAL =
      TCP_FLAG_WINDOW_SCALE | TCP_FLAG_SACK_PERM | TCP_FLAG_BE_LIBERAL;

  public static void main(String[] args) throws Exception {
    refuseRootNamespace();
    switch (args[0]) {
      case "watch" -> watch();
      case "latency" ->
          latency(
              Integer.parseInt(args[1]),
              Integer.parseInt(args[2]),
              Integer.parseInt(args[3]),
              Integer.parseInt(args[4]));
      case "burst" -> burst(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
      case "count" -> count();
      default -> throw new IllegalArgumentException("no such mode: " + args[0]);
    }
  }

  static ConntrackEntry entry(int group, int i) {
    if (group < 1 || group > 249 || i < 0 || i >= MAX_ENTRIES)
      throw new IllegalArgumentException(group + "/" + i);
    Tuple orig =
        new Tuple(InetAddress.ofLiteral("203.0.113." + group), SERVER, FIRST_PORT + i, 443);
    return new ConntrackEntry(
        AF_INET,
        PROTO_TCP,
        orig,
        orig.inverted(),
        IPS_SEEN_REPLY | IPS_ASSURED,
        3600,
        TCP_ESTABLISHED,
        LIBERAL,
        LIBERAL,
        7,
        7,
        -1,
        -1,
        0,
        0);
  }

  /** The group of one of our entries, or -1. */
  static int groupOf(ConntrackEntry e) {
    if (!e.isTcp()
        || !e.original().destination().equals(SERVER)
        || e.original().destinationPort() != 443) return -1;
    byte[] src = e.original().source().getAddress();
    if (src.length != 4 || (src[0] & 0xff) != 203 || (src[1] & 0xff) != 0 || (src[2] & 0xff) != 113)
      return -1;
    return src[3] & 0xff;
  }

  private static void watch() throws InterruptedException {
    AtomicLongArray counts = new AtomicLongArray(256);
    AtomicLongArray first = new AtomicLongArray(256);
    AtomicLongArray last = new AtomicLongArray(256);
    NetfilterConntrack ct = NetfilterConntrack.open();
    ct.listen(
        new ConntrackKernel.Listener() {
          @Override
          public void event(ConntrackKernel.EventType type, ConntrackEntry e) {
            long now = System.nanoTime();
            if (type != ConntrackKernel.EventType.NEW) return;
            int g = groupOf(e);
            if (g < 0) return;
            if (g < COUNTED_FROM) {
              System.out.println("SEEN " + g + " " + e.original().sourcePort() + " " + now);
              return;
            }
            if (counts.getAndIncrement(g) == 0) first.set(g, now);
            last.set(g, now);
          }
        });
    System.out.println("READY");
    long[] printed = new long[256];
    long overruns = 0;
    while (true) {
      Thread.sleep(20);
      StringBuilder sb = new StringBuilder();
      for (int g = COUNTED_FROM; g < 256; g++) {
        long n = counts.get(g);
        if (n != printed[g]) {
          printed[g] = n;
          sb.append("COUNT ")
              .append(g)
              .append(' ')
              .append(n)
              .append(' ')
              .append(first.get(g))
              .append(' ')
              .append(last.get(g))
              .append('\n');
        }
      }
      long o = ct.stats().overruns();
      if (o != overruns) {
        overruns = o;
        sb.append("OVERRUN ").append(o).append('\n');
      }
      if (!sb.isEmpty()) System.out.print(sb);
    }
  }

  private static void latency(int group, int rounds, int minPauseMs, int maxPauseMs)
      throws InterruptedException {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      ct.dump(); // warm the native paths up
      List<ConntrackEntry> entries = new ArrayList<>();
      for (int i = 0; i < rounds; i++) entries.add(entry(group, i));
      for (int i = 0; i < rounds; i++) {
        Thread.sleep(
            ThreadLocalRandom.current()
                .nextInt(minPauseMs, maxPauseMs + 1)); // a random phase of the agents' ticks
        long t = System.nanoTime();
        ct.apply(entries.get(i));
        System.out.println("CREATED " + group + " " + (FIRST_PORT + i) + " " + t);
      }
    }
  }

  private static void burst(int group, int n) {
    List<ConntrackEntry> entries = new ArrayList<>(n);
    for (int i = 0; i < n; i++) entries.add(entry(group, i));
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      ct.dump();
      long t0 = System.nanoTime();
      for (ConntrackEntry e : entries) ct.apply(e);
      long t1 = System.nanoTime();
      System.out.println("BURST " + group + " " + n + " " + t0 + " " + t1);
    }
  }

  private static void count() {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      List<ConntrackEntry> all = ct.dump();
      long[] counts = new long[256];
      for (ConntrackEntry e : all) {
        int g = groupOf(e);
        if (g >= 0) counts[g]++;
      }
      for (int g = 0; g < 256; g++)
        if (counts[g] > 0) System.out.println("TABLE " + g + " " + counts[g]);
      System.out.println("TABLE total " + all.size());
    }
  }

  /**
   * Like the conntrack scenarios: this writes to the table of the namespace it runs in, never the
   * machine's own.
   */
  static void refuseRootNamespace() throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder("ip", "netns", "identify", Long.toString(ProcessHandle.current().pid()))
            .start();
    String ns = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (p.waitFor() != 0 || !ns.startsWith(NetnsLab.PREFIX)) {
      throw new IllegalStateException("refusing to run outside a lab namespace (in '" + ns + "')");
    }
  }
}
