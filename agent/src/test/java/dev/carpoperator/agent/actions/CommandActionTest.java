package dev.carpoperator.agent.actions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.carp.CarpState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Command actions for real: no shell of ours, the change in the environment, a time limit that
 * kills.
 */
class CommandActionTest {
  static final ActionContext MASTER =
      new ActionContext(
          ActionRunner.Trigger.MASTER,
          "fw1",
          null,
          10,
          "eth0",
          CarpState.BACKUP,
          CarpState.MASTER,
          "master-down-timeout");
  final SystemActionExecutor executor = new SystemActionExecutor(null); // commands never touch ip

  @Test
  void theStateChangeIsPassedInTheEnvironment(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("env");
    // the user's program here happens to be a shell script; the agent itself never starts a shell
    Path script = dir.resolve("record.sh");
    Files.writeString(script, "#!/bin/sh\nenv | grep '^CARP_' | sort > \"$1\"\n");
    script.toFile().setExecutable(true);
    executor.execute(
        new Action.Command(List.of(script.toString(), out.toString()), Duration.ofSeconds(10)),
        MASTER);
    assertThat(Files.readAllLines(out))
        .containsExactly(
            "CARP_INTERFACE=eth0",
            "CARP_NODE=fw1",
            "CARP_OLD_STATE=BACKUP",
            "CARP_REASON=master-down-timeout",
            "CARP_STATE=MASTER",
            "CARP_TRIGGER=master",
            "CARP_VHID=10");
  }

  @Test
  void aFailingCommandReportsItsStatusAndOutput() {
    assertThatThrownBy(
            () ->
                executor.execute(
                    new Action.Command(
                        List.of("/bin/sh", "-c", "echo bridge missing >&2; exit 3"),
                        Duration.ofSeconds(10)),
                    MASTER))
        .isInstanceOf(IOException.class)
        .hasMessage("exit status 3: bridge missing");
    assertThatThrownBy(
            () ->
                executor.execute(
                    new Action.Command(List.of("/nonexistent/carp-hook"), Duration.ofSeconds(10)),
                    MASTER))
        .isInstanceOf(IOException.class);
  }

  @Test
  void aCommandOverItsTimeLimitIsKilledWithItsChildren(@TempDir Path dir) throws Exception {
    Path pidFile = dir.resolve("child.pid");
    long t0 = System.nanoTime();
    assertThatThrownBy(
            () ->
                executor.execute(
                    new Action.Command(
                        List.of("/bin/sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"),
                        Duration.ofMillis(300)),
                    MASTER))
        .isInstanceOf(TimeoutException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    long child = Long.parseLong(Files.readString(pidFile).strip());
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> ProcessHandle.of(child).map(h -> !h.isAlive()).orElse(true));
  }
}
