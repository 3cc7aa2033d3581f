package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link AddressChangeBench} inside a lab host and prints its table. On demand only: the class
 * name does not match surefire's default includes, so name it with -Dtest. Asserts that the bench
 * ran, never how fast it was. See docs/address-takeover.md.
 */
class AddressChangeBenchRun {
  @Test
  void printFigures() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.1/24", "2001:db8::1/64");
      lab.addHost("b", "192.0.2.2/24");
      String iterations = System.getProperty("carp.bench.iterations", "500");
      LabProcess bench = a.startJava("bench", AddressChangeBench.class, "eth0", iterations);
      int exit = bench.waitFor(Duration.ofMinutes(5));
      System.out.println(bench.output());
      assertThat(exit).as(bench.output()).isZero();
    }
  }
}
