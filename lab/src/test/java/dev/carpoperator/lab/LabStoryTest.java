package dev.carpoperator.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code ./carp lab}'s story, non-interactively, as CI runs it: the same {@link Story} on a fresh lab (real control
 * plane, operator, three nodes with real agents, the example applied), then the outcomes the README promises.
 */
class LabStoryTest {
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void theStoryRunsAndTheSessionSurvivesEveryChangeOfMaster() {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream both = new PrintStream(new TeeStream(System.out, printed), true, StandardCharsets.UTF_8);
    Story.Result r;
    try (Lab lab = new Lab()) {
      r = new Story(lab, new Printer(both)).run();
    }
    String story = printed.toString(StandardCharsets.UTF_8);

    // The election, and the failover seen in status and Events.
    assertThat(r.firstMaster()).isEqualTo("mickey");
    assertThat(r.masterAfterCrash()).isEqualTo("minnie");
    assertThat(r.masterChangedEvents()).hasSize(2).allMatch(e -> e.contains("from mickey to minnie"));
    assertThat(r.masterChangedEvents().getFirst()).startsWith("mickey-minnie-dmz: ");
    assertThat(r.masterChangedEvents().getLast()).startsWith("mickey-minnie-lan: ");
    assertThat(r.failover()).isLessThan(Duration.ofSeconds(30));
    // The session kept going after the failover, and after the preemption, with every byte checked.
    assertThat(r.bytesAfterFailover()).isGreaterThan(r.bytesBeforeCrash() + Story.FLOWING);
    assertThat(r.bytesAfterPreempt()).isGreaterThan(r.bytesAfterFailover());
    assertThat(r.summary().failed()).isEmpty();
    assertThat(r.summary().drained()).containsOnly(true);
    // Back without preemption: a backup; with preemption: master again.
    assertThat(r.masterWithoutPreempt()).isEqualTo("minnie");
    assertThat(r.statesWithoutPreempt()).containsEntry("mickey", "BACKUP").containsEntry("minnie", "MASTER").containsEntry("goofy", "BACKUP");
    assertThat(r.masterWithPreempt()).isEqualTo("mickey");
    // What the user sees: kubectl's table, the watch, the Events.
    assertThat(story).containsPattern("mickey-minnie-lan\\s+1\\s+\\S+\\s+minnie\\s+True")
        .contains("kubectl get va -w │", "MasterChanged", "no reset, no byte lost");
  }

  /** Writes to two streams: the test's output file and the captured copy. */
  private static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }

    @Override
    public void flush() throws java.io.IOException {
      a.flush();
      b.flush();
    }
  }
}
