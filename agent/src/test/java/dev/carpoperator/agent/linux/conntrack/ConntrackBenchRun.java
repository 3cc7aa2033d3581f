package dev.carpoperator.agent.linux.conntrack;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link ConntrackBench} inside a lab host and prints its table. On demand only: the class
 * name does not match surefire's default includes, so name it with -Dtest=ConntrackBenchRun.
 * Asserts that the bench ran, never how fast.
 */
class ConntrackBenchRun {
  private static final java.util.concurrent.atomic.AtomicInteger RUNS =
      new java.util.concurrent.atomic.AtomicInteger();

  @Test
  void printFigures() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.2/24");
      NetnsLab.Host b = lab.addHost("b", "192.0.2.3/24");
      run(a, "alone on the kernel", System.getProperty("carp.bench.cliRuns", "300"));
      // the same with a NEW listener in another namespace (a second node of the lab, say): the
      // kernel's listener mask is per protocol, so a's creates build their events again
      LabProcess listener = b.start("listener", "conntrack", "-E", "-e", "NEW", "-o", "id");
      try {
        run(
            a,
            "with conntrack -E -e NEW running in another namespace",
            "0"); // CLI entries are there
      } finally {
        listener.close();
      }
    }
  }

  private static void run(NetnsLab.Host host, String label, String cliRuns) throws Exception {
    LabProcess bench =
        host.startJava(
            "bench-" + RUNS.incrementAndGet(), // a log of its own
            ConntrackBench.class,
            System.getProperty("carp.bench.entries", "20000"),
            cliRuns);
    int exit = bench.waitFor(Duration.ofMinutes(5));
    System.out.println("== " + label + "\n" + bench.output());
    assertThat(exit).as(bench.output()).isZero();
  }
}
