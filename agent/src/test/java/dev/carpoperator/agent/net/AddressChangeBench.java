package dev.carpoperator.agent.net;

import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Measures ways of changing an address. Run INSIDE a lab host (AddressChangeBenchTest does that);
 * it only touches {@code ifName} there and uses TEST-NET addresses. Prints figures, asserts
 * nothing. Args: ifName iterations.
 */
public final class AddressChangeBench {
  public static void main(String[] args) throws Exception {
    String ifName = args[0];
    int n = Integer.parseInt(args[1]);
    System.out.printf(
        "java %s, %s, %d iterations after %d warm-up, microseconds%n",
        Runtime.version(),
        new String(new ProcessBuilder("ip", "-V").start().getInputStream().readAllBytes()).strip(),
        n,
        n / 10);
    System.out.printf("%-52s %8s %8s %8s %8s%n", "operation", "median", "p90", "p99", "max");

    measure("spawn /bin/true (process start floor)", n, i -> run("true"));
    for (AddressManager.Mode mode : AddressManager.Mode.values()) {
      try (AddressManager am = new AddressManager(List.of("ip"), Duration.ofSeconds(5), mode)) {
        String m = mode + ": ";
        measure(
            m + "add IPv4 (addr replace)",
            n,
            i -> call(() -> am.add(ifName, "192.0.2.200/24")),
            i -> call(() -> am.remove(ifName, "192.0.2.200/24")));
        measure(
            m + "remove IPv4 (addr del)",
            n,
            i -> call(() -> am.remove(ifName, "192.0.2.200/24")),
            i -> call(() -> am.add(ifName, "192.0.2.200/24")));
        measure(
            m + "add IPv6 nodad preferred_lft 0",
            n,
            i -> call(() -> am.add(ifName, "2001:db8::200/64")),
            i -> call(() -> am.remove(ifName, "2001:db8::200/64")));
        measure(
            m + "remove IPv6",
            n,
            i -> call(() -> am.remove(ifName, "2001:db8::200/64")),
            i -> call(() -> am.add(ifName, "2001:db8::200/64")));
        measure(
            m + "remove absent IPv4 (idempotent no-op)",
            n,
            i -> call(() -> am.remove(ifName, "192.0.2.201/24")));
        call(() -> am.remove(ifName, "192.0.2.200/24"));
        call(() -> am.remove(ifName, "2001:db8::200/64"));
      }
    }
    try (AddressManager am = new AddressManager()) {
      measure("list (ip -j addr show + JSON, one process)", n, i -> call(() -> am.list(ifName)));
      measure("link (ip -j link show + JSON, one process)", n, i -> call(() -> am.link(ifName)));
    }

    // Amortised: all commands written at once, one process start.
    long t0 = System.nanoTime();
    Process q =
        new ProcessBuilder("ip", "-force", "-batch", "-")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try (Writer w = new OutputStreamWriter(q.getOutputStream(), StandardCharsets.US_ASCII)) {
      for (int i = 0; i < n; i++) {
        w.write(
            "addr replace 192.0.2.202/24 dev "
                + ifName
                + "\naddr del 192.0.2.202/24 dev "
                + ifName
                + "\n");
      }
    }
    q.waitFor();
    System.out.printf(
        "%-52s %8.1f  (%d commands, one process, total %.1f ms)%n",
        "ip -batch, amortised per command",
        (System.nanoTime() - t0) / 1e3 / (2 * n),
        2 * n,
        (System.nanoTime() - t0) / 1e6);
  }

  interface Call {
    void run() throws Exception;
  }

  static void call(Call c) {
    try {
      c.run();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static void run(String... cmd) {
    call(() -> new ProcessBuilder(cmd).start().waitFor());
  }

  static void measure(String name, int n, IntConsumer op) {
    measure(name, n, op, i -> {});
  }

  /**
   * Times {@code op} only; {@code undo} runs untimed after each op so every iteration starts alike.
   */
  static void measure(String name, int n, IntConsumer op, IntConsumer undo) {
    int warm = n / 10;
    long[] t = new long[n];
    for (int i = -warm; i < n; i++) {
      long t0 = System.nanoTime();
      op.accept(i);
      long d = System.nanoTime() - t0;
      undo.accept(i);
      if (i >= 0) {
        t[i] = d;
      }
    }
    Arrays.sort(t);
    System.out.printf(
        "%-52s %8.1f %8.1f %8.1f %8.1f%n",
        name, t[n / 2] / 1e3, t[(int) (n * 0.9)] / 1e3, t[(int) (n * 0.99)] / 1e3, t[n - 1] / 1e3);
  }
}
