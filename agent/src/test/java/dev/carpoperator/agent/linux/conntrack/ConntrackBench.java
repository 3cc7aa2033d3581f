package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_ASSURED;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_SEEN_REPLY;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_TCP;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_ESTABLISHED;

import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import dev.carpoperator.agent.sync.ConntrackKernel;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Write and read rates of {@link NetfilterConntrack} against the conntrack CLI. Run INSIDE a lab
 * host ({@link ConntrackBenchRun} does that): it only touches that namespace's table and uses
 * TEST-NET addresses. Prints figures, asserts nothing. Args: entries cliInvocations.
 */
public final class ConntrackBench {
  static final InetAddress CLIENT = InetAddress.ofLiteral("192.0.2.2");
  static final InetAddress SNAT = InetAddress.ofLiteral("198.51.100.7");

  public static void main(String[] args) throws Exception {
    ConntrackScenarios.refuseRootNamespace();
    int n = Integer.parseInt(args[0]);
    int cliRuns = Integer.parseInt(args[1]);
    System.out.printf(
        "java %s, kernel %s, %d entries (TCP ESTABLISHED, BE_LIBERAL), %d CLI runs%n",
        Runtime.version(), System.getProperty("os.version"), n, cliRuns);
    System.out.printf("%-58s %10s %10s%n", "operation", "per second", "total ms");
    List<ConntrackEntry> plain = entries(n, 0, false);
    List<ConntrackEntry> natted = entries(n, 1, true);
    try (NetfilterConntrack ct = NetfilterConntrack.open();
        NetfilterConntrack watcher = NetfilterConntrack.open()) {
      List<ConntrackEntry> warmUp = entries(2000, 2, true);
      warmUp.forEach(ct::apply);
      warmUp.forEach(ct::delete);

      measure("apply: create", plain, ct::apply);
      measure(
          "apply: update (create answered EEXIST, then update)",
          plain,
          e -> ct.apply(e.withDynamic(e.status(), 1800, e.tcpState())));
      measure("apply: create with source NAT", natted, ct::apply);
      long t0 = System.nanoTime();
      int dumped = ct.dump().size();
      report("dump (" + dumped + " entries)", dumped, System.nanoTime() - t0);
      measure("delete", plain, ct::delete);
      measure("delete (NAT entries)", natted, ct::delete);

      // the same through writeAll, as the sync's receiver writes a packet's states (batched)
      for (int per : List.of(5, NetfilterConntrack.BATCH_REQUESTS)) {
        batched("writeAll: create, " + per + " per call", plain, per, false, ct);
        batched(
            "writeAll: update, " + per + " per call",
            plain.stream().map(e -> e.withDynamic(e.status(), 1800, e.tcpState())).toList(),
            per,
            false,
            ct);
        batched("writeAll: delete, " + per + " per call", plain, per, true, ct);
      }

      // the same creates again with a listener on another handle, which hears them all (its port id
      // differs)
      AtomicLong heard = new AtomicLong();
      watcher.listen(
          new ConntrackKernel.Listener() {
            @Override
            public void event(ConntrackKernel.EventType type, ConntrackEntry entry) {
              heard.incrementAndGet();
            }
          });
      measure("apply: create, another handle listening", plain, ct::apply);
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (heard.get() < n && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      System.out.printf(
          "  events heard by the other handle: %d of %d, overruns %d; own events ignored by the writer: %d%n",
          heard.get(), n, watcher.stats().overruns(), ct.stats().ownEventsIgnored());
      plain.forEach(ct::delete);
      batched(
          "writeAll: create, " + NetfilterConntrack.BATCH_REQUESTS + " per call, handle listening",
          plain,
          NetfilterConntrack.BATCH_REQUESTS,
          false,
          ct);
      plain.forEach(ct::delete);
      // a backup during a bulk update: the kernel builds no NEW event nobody listens to (but the
      // listener mask is per protocol, not per namespace: a NEW listener anywhere on the kernel
      // makes it build them here too, as ConntrackBenchRun's second run shows)
      watcher.followNewAndUpdates(false);
      batched(
          "writeAll: create, "
              + NetfilterConntrack.BATCH_REQUESTS
              + " per call, handle left NEW and UPDATE",
          plain,
          NetfilterConntrack.BATCH_REQUESTS,
          false,
          ct);
      plain.forEach(ct::delete);
    }

    long t0 = System.nanoTime();
    for (int i = 0; i < cliRuns; i++) {
      ConntrackScenarios.cli(
          "-I",
          "-p",
          "tcp",
          "-s",
          "192.0.2.2",
          "-d",
          "203.0.113.100",
          "--sport",
          Integer.toString(10_000 + i),
          "--dport",
          "443",
          "--state",
          "ESTABLISHED",
          "-t",
          "3600",
          "-u",
          "SEEN_REPLY,ASSURED");
    }
    report("conntrack -I (one process per entry)", cliRuns, System.nanoTime() - t0);
  }

  /** {@code n} distinct TCP entries; {@code server} keeps the sets apart. */
  static List<ConntrackEntry> entries(int n, int server, boolean nat) {
    List<ConntrackEntry> list = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      InetAddress dst = InetAddress.ofLiteral("203.0.113." + (1 + server * 10 + i / 50_000));
      int port = 10_000 + i % 50_000;
      Tuple orig = new Tuple(CLIENT, dst, port, 443);
      Tuple reply = nat ? new Tuple(dst, SNAT, 443, port) : orig.inverted();
      list.add(
          new ConntrackEntry(
              AF_INET,
              PROTO_TCP,
              orig,
              reply,
              IPS_SEEN_REPLY | IPS_ASSURED,
              3600,
              TCP_ESTABLISHED,
              ConntrackScenarios.LIBERAL_FLAGS,
              ConntrackScenarios.LIBERAL_FLAGS,
              7,
              7,
              -1,
              -1,
              0,
              0));
    }
    return list;
  }

  static void measure(String what, List<ConntrackEntry> entries, Consumer<ConntrackEntry> op) {
    long t0 = System.nanoTime();
    entries.forEach(op);
    report(what, entries.size(), System.nanoTime() - t0);
  }

  static void batched(
      String what, List<ConntrackEntry> entries, int per, boolean delete, NetfilterConntrack ct) {
    long t0 = System.nanoTime();
    for (int i = 0; i < entries.size(); i += per) {
      List<ConntrackKernel.Change> changes =
          entries.subList(i, Math.min(entries.size(), i + per)).stream()
              .map(e -> new ConntrackKernel.Change(e, delete))
              .toList();
      for (var failure : ct.writeAll(changes)) if (failure != null) throw failure;
    }
    report(what, entries.size(), System.nanoTime() - t0);
  }

  static void report(String what, int count, long nanos) {
    System.out.printf("%-58s %10.0f %10.1f%n", what, count / (nanos / 1e9), nanos / 1e6);
  }
}
