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
  @Test
  void printFigures() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.2/24");
      LabProcess bench =
          a.startJava(
              "bench",
              ConntrackBench.class,
              System.getProperty("carp.bench.entries", "20000"),
              System.getProperty("carp.bench.cliRuns", "300"));
      int exit = bench.waitFor(Duration.ofMinutes(5));
      System.out.println(bench.output());
      assertThat(exit).as(bench.output()).isZero();
    }
  }
}
