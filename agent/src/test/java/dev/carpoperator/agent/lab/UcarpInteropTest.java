package dev.carpoperator.agent.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Interop with a real CARP peer: ucarp from Debian (the same HMAC and header as OpenBSD for one
 * IPv4 address, see docs/protocols/carp.md §2.5). Both roles, with a failover each way. If either
 * side rejected the other's adverts, both would claim the address and {@code awaitOnlyHolder} would
 * fail.
 */
class UcarpInteropTest {
  static final String VIP = "192.0.2.100";

  private static LabProcess startUcarp(AgentLab l, String host, String srcIp, int advskew)
      throws IOException {
    Path up = l.lab.dir().resolve("ucarp-up.sh");
    Path down = l.lab.dir().resolve("ucarp-down.sh");
    // ucarp runs these with the interface and the address; it never moves addresses itself.
    Files.writeString(up, "#!/bin/sh\nexec ip addr add \"$2\"/24 dev \"$1\"\n");
    Files.writeString(down, "#!/bin/sh\nexec ip addr del \"$2\"/24 dev \"$1\"\n");
    for (Path p : new Path[] {up, down})
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return l.lab
        .host(host)
        .start(
            host + "-ucarp",
            "ucarp",
            "--interface=" + NetnsLab.HOST_IF,
            "--srcip=" + srcIp,
            "--vhid=1",
            "--pass=secret",
            "--addr=" + VIP,
            "--advbase=1",
            "--advskew=" + advskew,
            "--upscript=" + up,
            "--downscript=" + down,
            "--shutdown");
  }

  @Test
  void ucarpMasterAgentBackupThenFailoverToTheAgent() throws Exception {
    try (AgentLab l = new AgentLab().hosts("u", "a")) {
      LabProcess ucarp = startUcarp(l, "u", "192.0.2.11", 0);
      l.startAgent("a", AgentLab.config("a", 1, 100, false, "secret", VIP + "/24"));
      l.awaitOnlyHolder(VIP, "u", Duration.ofSeconds(25));
      l.awaitReady(
          "a", Duration.ofSeconds(25)); // the agent runs: its JVM may start after ucarp won
      // Several master-down periods: the agent must keep accepting ucarp's adverts.
      await()
          .during(Duration.ofSeconds(5))
          .atMost(Duration.ofSeconds(7))
          .until(() -> l.holders(VIP).equals(List.of("u")));
      assertThat(l.transitionsTo("a", "MASTER")).isZero();

      ucarp.process().destroyForcibly(); // crash: ucarp's down-script does not run
      ucarp.waitFor(Duration.ofSeconds(5));
      l.lab.host("u").exec("ip", "addr", "del", VIP + "/24", "dev", NetnsLab.HOST_IF);
      l.awaitOnlyHolder(VIP, "a", Duration.ofSeconds(15));
    }
  }

  @Test
  void agentMasterUcarpBackupThenFailoverToUcarp() throws Exception {
    try (AgentLab l = new AgentLab().hosts("a", "u")) {
      l.startAgent("a", AgentLab.config("a", 1, 0, false, "secret", VIP + "/24"));
      l.awaitOnlyHolder(VIP, "a", Duration.ofSeconds(25));
      LabProcess ucarp = startUcarp(l, "u", "192.0.2.12", 100);
      // Longer than ucarp's master-down: it must accept the agent's adverts and stay backup.
      await()
          .during(Duration.ofSeconds(6))
          .atMost(Duration.ofSeconds(8))
          .until(() -> l.holders(VIP).equals(List.of("a")));

      l.kill("a");
      l.lab.host("a").exec("ip", "addr", "del", VIP + "/24", "dev", NetnsLab.HOST_IF);
      l.awaitOnlyHolder(VIP, "u", Duration.ofSeconds(15));
      assertThat(ucarp.output()).containsIgnoringCase("master");
    }
  }
}
