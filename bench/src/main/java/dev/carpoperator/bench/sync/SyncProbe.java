package dev.carpoperator.bench.sync;

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
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The in-namespace side of {@link SyncPart}: writes conntrack entries on the master and watches
 * them arrive on the backup, through the agent's {@link NetfilterConntrack} in the namespace it
 * runs in (it refuses the root namespace). Prints lines for the runner and writes timestamps as
 * files of longs ({@link Timestamps}). Times are {@link System#nanoTime()}, i.e. CLOCK_MONOTONIC,
 * shared by every process of the machine (namespaces do not change clocks), so a creation on the
 * master and the arrival on the backup can be subtracted.
 *
 * <p>Entry {@code i} of group {@code g} is TCP ESTABLISHED (BE_LIBERAL, timeout 3600 s) from
 * 203.0.113.g:(1024 + i % 60000) to 203.0.113.250:(10000 + i / 60000): the group tells the runner's
 * phases apart.
 *
 * <ul>
 *   <li>{@code watch g n idleMs file}: records the first NEW event of each entry of group g in this
 *       namespace's table; exits when all n arrived or nothing arrived for idleMs (60 s before the
 *       first), writing the arrival times (0: never) to file; prints {@code READY}, {@code COUNT
 *       n}, {@code OVERRUNS n}.
 *   <li>{@code churn g rate seconds lifetimeMs file [leadGroup leadSeconds]}: creates rate entries
 *       per second for that long, paced per millisecond, and deletes each lifetimeMs after its
 *       creation (the rest at the end); writes the creation times to file; prints {@code CHURN
 *       created startNanos endNanos}. With a lead-in, the same churn runs leadSeconds before, on
 *       entries of leadGroup that nobody watches: this JVM's own start-up (its JIT takes CPU from
 *       the daemons, and from the agents' normal priority more than from conntrackd's real-time
 *       one) then falls before the measured entries.
 *   <li>{@code fill g n}: n entries as fast as one netlink socket takes them; prints {@code FILLED
 *       n nanos}.
 *   <li>{@code until n timeoutMs}: polls the table's size (nf_conntrack_count) every millisecond;
 *       prints {@code READY}, then {@code REACHED nanos count} once it holds n entries, or {@code
 *       TIMEOUT count}.
 * </ul>
 */
public final class SyncProbe {
  static final InetAddress SERVER = InetAddress.ofLiteral("203.0.113.250");
  static final int PORTS = 60_000;
  static final int MAX_ENTRIES = PORTS * 50;
  private static final int LIBERAL =
      TCP_FLAG_WINDOW_SCALE | TCP_FLAG_SACK_PERM | TCP_FLAG_BE_LIBERAL;
  private static final Path COUNT = Path.of("/proc/sys/net/netfilter/nf_conntrack_count");

  private SyncProbe() {}

  public static void main(String[] args) throws Exception {
    refuseRootNamespace();
    switch (args[0]) {
      case "watch" ->
          watch(
              Integer.parseInt(args[1]),
              Integer.parseInt(args[2]),
              Long.parseLong(args[3]),
              Path.of(args[4]));
      case "churn" ->
          churn(
              Integer.parseInt(args[1]),
              Integer.parseInt(args[2]),
              Double.parseDouble(args[3]),
              Long.parseLong(args[4]),
              Path.of(args[5]),
              args.length > 7 ? Integer.parseInt(args[6]) : 0,
              args.length > 7 ? Double.parseDouble(args[7]) : 0);
      case "fill" -> fill(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
      case "until" -> until(Long.parseLong(args[1]), Long.parseLong(args[2]));
      default -> throw new IllegalArgumentException("no such mode: " + args[0]);
    }
  }

  static ConntrackEntry entry(int group, int i) {
    if (group < 1 || group > 249 || i < 0 || i >= MAX_ENTRIES)
      throw new IllegalArgumentException(group + "/" + i);
    Tuple orig =
        new Tuple(
            InetAddress.ofLiteral("203.0.113." + group),
            SERVER,
            1024 + i % PORTS,
            10_000 + i / PORTS);
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

  /** The index of one of group g's entries, or -1 for anything else. */
  static int indexOf(ConntrackEntry e, int group) {
    Tuple o = e.original();
    if (!e.isTcp() || !o.destination().equals(SERVER)) return -1;
    byte[] src = o.source().getAddress();
    if (src.length != 4
        || (src[0] & 0xff) != 203
        || src[1] != 0
        || (src[2] & 0xff) != 113
        || (src[3] & 0xff) != group) return -1;
    int i = (o.destinationPort() - 10_000) * PORTS + (o.sourcePort() - 1024);
    return i >= 0 && i < MAX_ENTRIES ? i : -1;
  }

  private static void watch(int group, int n, long idleMs, Path file)
      throws IOException, InterruptedException {
    long[] arrived = new long[n];
    AtomicLong seen = new AtomicLong();
    AtomicLong lastArrival = new AtomicLong();
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      ct.listen(
          new ConntrackKernel.Listener() {
            @Override
            public void event(ConntrackKernel.EventType type, ConntrackEntry e) {
              long now = System.nanoTime();
              if (type != ConntrackKernel.EventType.NEW) return;
              int i = indexOf(e, group);
              if (i < 0 || i >= n || arrived[i] != 0) return; // the event thread is the only writer
              arrived[i] = now;
              seen.incrementAndGet();
              lastArrival.set(now);
            }
          });
      long start = System.nanoTime();
      System.out.println("READY");
      long printed = -1;
      while (seen.get() < n) {
        Thread.sleep(20);
        long s = seen.get();
        if (s != printed) System.out.println("COUNT " + (printed = s));
        long since = System.nanoTime() - (s == 0 ? start : lastArrival.get());
        if (since > (s == 0 ? 60_000 : idleMs) * 1_000_000L) break;
      }
      Thread.sleep(50); // the event thread may be inside a write of the last slot
      Timestamps.write(file, arrived);
      System.out.println("COUNT " + seen.get());
      System.out.println("OVERRUNS " + ct.stats().overruns());
    }
  }

  private static void churn(
      int group,
      int rate,
      double seconds,
      long lifetimeMs,
      Path file,
      int leadGroup,
      double leadSeconds)
      throws IOException {
    int lead = leadGroup > 0 ? (int) Math.round(rate * leadSeconds) : 0;
    int n = lead + (int) Math.round(rate * seconds);
    long[] created = new long[n];
    ArrayDeque<Integer> live = new ArrayDeque<>();
    long lifetime = lifetimeMs * 1_000_000L;
    ConntrackEntry[] entries = new ConntrackEntry[n];
    for (int i = 0; i < n; i++)
      entries[i] = i < lead ? entry(leadGroup, i) : entry(group, i - lead);
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      ct.dump(); // warm the native paths up
      long t0 = System.nanoTime();
      int next = 0;
      while (next < n) {
        long now = System.nanoTime();
        // as many creations as the rate allows by now, written together (one send for up to 64:
        // one request per send made the generator, not the daemons, the limit at ~20 000/s); a
        // generator that falls behind catches up in bursts, and the achieved rate shows it
        long due = Math.min(n, (long) ((now - t0) / 1e9 * rate) + 1);
        List<ConntrackKernel.Change> batch = new ArrayList<>();
        long at = System.nanoTime();
        while (next < due) {
          created[next] = at;
          batch.add(new ConntrackKernel.Change(entries[next], false));
          live.add(next++);
        }
        while (!live.isEmpty() && created[live.peek()] + lifetime <= now)
          batch.add(new ConntrackKernel.Change(entries[live.poll()], true));
        write(ct, batch);
        LockSupport.parkNanos(200_000);
      }
      long t1 = System.nanoTime();
      long[] measured = java.util.Arrays.copyOfRange(created, lead, n);
      System.out.println("CHURN " + measured.length + " " + created[lead] + " " + t1);
      Timestamps.write(file, measured);
      while (!live.isEmpty()) {
        int i = live.peek();
        long wait = created[i] + lifetime - System.nanoTime();
        if (wait > 0) LockSupport.parkNanos(Math.min(wait, 1_000_000));
        else ct.delete(entries[live.poll()]);
      }
    }
  }

  /** Writes the changes; a refused one ends the probe (the bench then reports the failure). */
  private static void write(NetfilterConntrack ct, List<ConntrackKernel.Change> changes) {
    if (changes.isEmpty()) return;
    for (ConntrackException e : ct.writeAll(changes)) if (e != null) throw e;
  }

  private static void fill(int group, int n) {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      List<ConntrackKernel.Change> batch = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        batch.add(new ConntrackKernel.Change(entry(group, i), false));
        if (batch.size() == 64 || i == n - 1) {
          write(ct, batch);
          batch.clear();
        }
      }
      System.out.println("FILLED " + n + " " + System.nanoTime());
    }
  }

  private static void until(long target, long timeoutMs) throws IOException {
    System.out.println("READY");
    long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
    long count = 0;
    long nextPrint = 0;
    while (System.nanoTime() < deadline) {
      count = tableSize();
      if (System.nanoTime() > nextPrint) { // progress for the log
        System.out.println("AT " + System.nanoTime() + " " + count);
        nextPrint = System.nanoTime() + 1_000_000_000L;
      }
      if (count >= target) {
        System.out.println("REACHED " + System.nanoTime() + " " + count);
        return;
      }
      LockSupport.parkNanos(1_000_000);
    }
    System.out.println("TIMEOUT " + count);
  }

  /**
   * This namespace's table size. Read with one plain read: {@code Files.readString} returned only
   * the first digit of this procfs file (it reports size 0).
   */
  static long tableSize() throws IOException {
    try (var in = new java.io.FileInputStream(COUNT.toFile())) {
      byte[] buf = new byte[32];
      int len = 0;
      for (int r; len < buf.length && (r = in.read(buf, len, buf.length - len)) > 0; ) len += r;
      return Long.parseLong(new String(buf, 0, len, StandardCharsets.US_ASCII).strip());
    }
  }

  /**
   * Like the agent's lab scenarios: this writes to the table of the namespace it runs in, never the
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
