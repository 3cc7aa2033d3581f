package dev.carpoperator.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class TrafficGapTest {
  private static final long MS = 1_000_000;

  /** Feeds replies through ReplyRuns as the probe client does and returns the lines it prints. */
  private static List<String> replies(Object... nodeAndMillis) {
    ReplyRuns runs = new ReplyRuns(ProbeClient.RUN_SPLIT_NANOS);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < nodeAndMillis.length; i += 2) {
      lines.addAll(
          runs.reply((String) nodeAndMillis[i], ((Number) nodeAndMillis[i + 1]).longValue() * MS));
    }
    return lines;
  }

  @Test
  void runsStartAndEndOnANodeChangeOrAPause() {
    assertThat(replies("a", 1, "a", 2, "a", 3, "b", 4, "b", 20))
        .containsExactly(
            "run a " + MS,
            "end a " + 3 * MS + " 3",
            "run b " + 4 * MS,
            "end b " + 4 * MS + " 1",
            "run b " + 20 * MS);
  }

  @Test
  void gapIsFromTheOldMastersLastReplyToTheNewMastersFirst() {
    List<String> lines = replies("a", 100, "a", 101, "a", 102, "b", 400, "b", 401);
    assertThat(TrafficGap.gapMillis(lines, "a", "b", 101 * MS)).hasValue(298.0);
  }

  @Test
  void aPauseOfTheOldMasterBeforeTheFailureDoesNotHideItsLastReply() {
    // a stalls (a new run of a), answers again, then b takes over
    List<String> lines = replies("a", 1, "a", 50, "a", 51, "b", 90);
    assertThat(TrafficGap.gapMillis(lines, "a", "b", 10 * MS)).hasValue(39.0);
  }

  @Test
  void onlyTheNewMastersRunsAfterTheFailureCount() {
    // b answered once long before (an earlier round), then a, then b again after the failure at 200
    // ms
    List<String> lines = replies("b", 1, "a", 100, "a", 150, "b", 300);
    assertThat(TrafficGap.firstReply(lines, "b", 200 * MS)).isEqualTo(OptionalLong.of(300 * MS));
    assertThat(TrafficGap.gapMillis(lines, "a", "b", 200 * MS)).hasValue(150.0);
  }

  @Test
  void nothingWhileTheNewMasterHasNotAnswered() {
    List<String> lines = replies("a", 1, "a", 2);
    assertThat(TrafficGap.firstReply(lines, "b", 0)).isEmpty();
    assertThat(TrafficGap.gapMillis(lines, "a", "b", 0)).isEmpty();
  }
}
