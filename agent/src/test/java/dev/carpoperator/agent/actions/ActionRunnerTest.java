package dev.carpoperator.agent.actions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.engine.EngineListener.StateChange;
import dev.carpoperator.agent.metrics.AgentMetrics;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The runner with a fake executor: order, aggregation, failure isolation, time limits, superseded
 * changes.
 */
class ActionRunnerTest {
  static final Action DOWN = new Action.Link("br0", false);
  static final Action UP = new Action.Link("br0", true);
  static final Action ADDR = new Action.Address("br0", "192.0.2.250/24", true);
  static final Duration WAIT = Duration.ofSeconds(10);

  /** Records "trigger:action" for every action it is asked to run. */
  static final class Recorder implements ActionExecutor {
    final List<String> runs = Collections.synchronizedList(new ArrayList<>());
    final List<ActionContext> contexts = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void execute(Action action, ActionContext ctx) throws Exception {
      runs.add(ctx.trigger().label() + ":" + action.describe());
      contexts.add(ctx);
    }

    List<String> runs() {
      synchronized (runs) {
        return List.copyOf(runs);
      }
    }
  }

  static ActionPlan bridge() {
    return new ActionPlan(List.of(DOWN), List.of(UP, ADDR), List.of(DOWN), null, Duration.ZERO);
  }

  static StateChange change(int vhid, CarpState from, CarpState to, String reason) {
    return new StateChange("fw1", "eth0", vhid, from, to, reason, 0, 0, Instant.now());
  }

  @Test
  void startupRunsBeforeReturningAndTransitionsFollowInOrder() {
    Recorder r = new Recorder();
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (ActionRunner runner = new ActionRunner(bridge(), r, "fw1", null, metrics)) {
      runner.beforeFirstAdvert();
      assertThat(r.runs())
          .containsExactly("startup:link br0 down"); // synchronous: before the first advert
      runner.stateChanged(change(1, CarpState.INIT, CarpState.BACKUP, "startup"));
      await().atMost(WAIT).until(() -> r.runs().size() == 2);
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      await().atMost(WAIT).until(() -> r.runs().size() == 4);
      assertThat(r.runs())
          .containsExactly(
              "startup:link br0 down",
              "backup:link br0 down",
              "master:link br0 up",
              "master:address 192.0.2.250/24 add to br0");
      ActionContext last = r.contexts.getLast();
      assertThat(last.environment())
          .containsEntry("CARP_VHID", "1")
          .containsEntry("CARP_STATE", "MASTER")
          .containsEntry("CARP_OLD_STATE", "BACKUP")
          .containsEntry("CARP_INTERFACE", "eth0")
          .containsEntry("CARP_TRIGGER", "master")
          .containsEntry("CARP_REASON", "master-down-timeout")
          .containsEntry("CARP_NODE", "fw1");
      assertThat(metrics.actions.labelValues("master", "link", "ok").get()).isEqualTo(1);
      assertThat(metrics.actions.labelValues("startup", "link", "ok").get()).isEqualTo(1);
    }
  }

  @Test
  void withoutANamedVhidTheNodeIsMasterWhileAnyVhidIs() {
    Recorder r = new Recorder();
    try (ActionRunner runner =
        new ActionRunner(
            new ActionPlan(List.of(), List.of(UP), List.of(DOWN), null, Duration.ZERO),
            r,
            "fw1",
            null,
            null)) {
      runner.stateChanged(change(1, CarpState.INIT, CarpState.BACKUP, "startup"));
      runner.stateChanged(
          change(2, CarpState.INIT, CarpState.BACKUP, "startup")); // still backup: nothing
      await().atMost(WAIT).until(() -> r.runs().size() == 1);
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      runner.stateChanged(
          change(2, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout")); // still master
      await().atMost(WAIT).until(() -> r.runs().size() == 2);
      runner.stateChanged(
          change(1, CarpState.MASTER, CarpState.BACKUP, "higher-priority-master")); // 2 is master
      await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> r.runs().size() == 2);
      runner.stateChanged(change(2, CarpState.MASTER, CarpState.INIT, "link-down"));
      await().atMost(WAIT).until(() -> r.runs().size() == 3);
      runner.stateChanged(
          change(1, CarpState.BACKUP, CarpState.INIT, "link-down")); // INIT after BACKUP: nothing
      await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> r.runs().size() == 3);
      assertThat(r.runs())
          .containsExactly("backup:link br0 down", "master:link br0 up", "backup:link br0 down");
    }
  }

  @Test
  void aNamedVhidAloneDrivesTheActions() {
    Recorder r = new Recorder();
    try (ActionRunner runner =
        new ActionRunner(
            new ActionPlan(List.of(), List.of(UP), List.of(DOWN), 10, Duration.ZERO),
            r,
            "fw1",
            null,
            null)) {
      runner.stateChanged(
          change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout")); // not vhid 10
      runner.stateChanged(change(10, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      await().atMost(WAIT).until(() -> r.runs().size() == 1);
      assertThat(r.runs()).containsExactly("master:link br0 up");
      assertThat(r.contexts.getFirst().vhid()).isEqualTo(10);
    }
  }

  @Test
  void aFailingActionIsReportedAndTheNextOneStillRuns() {
    Recorder r = new Recorder();
    ActionExecutor failingUp =
        (a, ctx) -> {
          if (a.equals(UP)) throw new IOException("cannot set br0 up: Cannot find device \"br0\"");
          r.execute(a, ctx);
        };
    AgentMetrics metrics = new AgentMetrics(Map.of());
    List<ActionRunner.RunReport> reports = Collections.synchronizedList(new ArrayList<>());
    try (ActionRunner runner = new ActionRunner(bridge(), failingUp, "fw1", null, metrics)) {
      runner.addReportListener(reports::add);
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      await().atMost(WAIT).until(() -> reports.size() == 1);
      ActionRunner.RunReport report = reports.getFirst();
      assertThat(report.failed()).isEqualTo(1);
      assertThat(report.results())
          .extracting(ActionRunner.Result::outcome)
          .containsExactly(ActionRunner.Outcome.FAILED, ActionRunner.Outcome.OK);
      assertThat(report.results().getFirst().error()).contains("Cannot find device");
      assertThat(r.runs()).containsExactly("master:address 192.0.2.250/24 add to br0");
      assertThat(metrics.actions.labelValues("master", "link", "failed").get()).isEqualTo(1);
      assertThat(metrics.actionsFailing.get()).isEqualTo(1);
      assertThat(runner.lastReport()).isSameAs(report);
    }
  }

  @Test
  void aHangingActionTimesOutAndNeverHoldsUpTheEngine() throws Exception {
    Action hang = new Action.Command(List.of("/bin/hang"), Duration.ofMillis(200));
    CountDownLatch never = new CountDownLatch(1);
    Recorder r = new Recorder();
    ActionExecutor ex =
        (a, ctx) -> {
          if (a.equals(hang)) never.await();
          r.execute(a, ctx);
        };
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (ActionRunner runner =
        new ActionRunner(
            new ActionPlan(List.of(), List.of(hang, UP), List.of(DOWN), null, Duration.ZERO),
            ex,
            "fw1",
            null,
            metrics)) {
      long t0 = System.nanoTime();
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      // the engine's loop thread only queues
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
      await().atMost(WAIT).until(() -> r.runs().size() == 1);
      assertThat(r.runs()).containsExactly("master:link br0 up");
      assertThat(runner.lastReport().results().getFirst().outcome())
          .isEqualTo(ActionRunner.Outcome.TIMEOUT);
      assertThat(metrics.actions.labelValues("master", "command", "timeout").get()).isEqualTo(1);
    }
  }

  @Test
  void whileActionsRunOnlyTheLatestQueuedChangeRuns() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch blocked = new CountDownLatch(1);
    Recorder r = new Recorder();
    ActionExecutor ex =
        (a, ctx) -> {
          r.execute(a, ctx);
          if (ctx.trigger() == ActionRunner.Trigger.BACKUP && r.runs().size() == 1) {
            blocked.countDown();
            release.await();
          }
        };
    AgentMetrics metrics = new AgentMetrics(Map.of());
    try (ActionRunner runner = new ActionRunner(bridge(), ex, "fw1", null, metrics)) {
      runner.stateChanged(change(1, CarpState.INIT, CarpState.BACKUP, "startup"));
      assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      runner.stateChanged(change(1, CarpState.MASTER, CarpState.BACKUP, "higher-priority-master"));
      release.countDown();
      await().atMost(WAIT).until(() -> r.runs().size() == 2);
      await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> r.runs().size() == 2);
      // onMaster never ran: the node had stepped down before its turn came
      assertThat(r.runs()).containsExactly("backup:link br0 down", "backup:link br0 down");
      assertThat(metrics.actions.labelValues("master", "link", "skipped").get()).isEqualTo(1);
    }
  }

  @Test
  void takingOverFromARunningMasterWaitsTheHandoverDelay() {
    Recorder r = new Recorder();
    ActionPlan plan =
        new ActionPlan(List.of(), List.of(UP), List.of(DOWN), null, Duration.ofMillis(400));
    try (ActionRunner runner = new ActionRunner(plan, r, "fw1", null, null)) {
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "preempt"));
      await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> r.runs().isEmpty());
      await().atMost(WAIT).until(() -> r.runs().equals(List.of("master:link br0 up")));

      // a master that died (timeout) is not waited for
      runner.stateChanged(change(1, CarpState.MASTER, CarpState.BACKUP, "higher-priority-master"));
      await().atMost(WAIT).until(() -> r.runs().size() == 2);
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      await().atMost(Duration.ofMillis(350)).until(() -> r.runs().size() == 3);
    }
  }

  @Test
  void losingTheElectionDuringTheHandoverDelaySkipsOnMaster() {
    Recorder r = new Recorder();
    ActionPlan plan =
        new ActionPlan(List.of(), List.of(UP), List.of(DOWN), null, Duration.ofSeconds(5));
    try (ActionRunner runner = new ActionRunner(plan, r, "fw1", null, null)) {
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "preempt"));
      runner.stateChanged(change(1, CarpState.MASTER, CarpState.BACKUP, "higher-priority-master"));
      await()
          .atMost(Duration.ofSeconds(3))
          .until(() -> r.runs().equals(List.of("backup:link br0 down")));
    }
  }

  @Test
  void aCleanStopRunsOnBackupFirstAndIgnoresTheShutdownItself() {
    Recorder r = new Recorder();
    try (ActionRunner runner = new ActionRunner(bridge(), r, "fw1", null, null)) {
      runner.stateChanged(change(1, CarpState.BACKUP, CarpState.MASTER, "master-down-timeout"));
      await().atMost(WAIT).until(() -> r.runs().size() == 2);
      runner.beforeShutdown(WAIT); // returns when onBackup has run
      assertThat(r.runs())
          .containsExactly(
              "master:link br0 up",
              "master:address 192.0.2.250/24 add to br0",
              "shutdown:link br0 down");
      runner.stateChanged(change(1, CarpState.MASTER, CarpState.INIT, "shutdown"));
      await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> r.runs().size() == 3);
    }
  }
}
