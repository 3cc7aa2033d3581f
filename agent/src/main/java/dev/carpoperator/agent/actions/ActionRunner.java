package dev.carpoperator.agent.actions;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.TransitionReason;
import dev.carpoperator.agent.engine.EngineListener;
import dev.carpoperator.agent.metrics.AgentMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the declared actions when this node's state changes (ifstated on OpenBSD). The state the
 * actions follow is that of {@link ActionPlan#vhid()} or, when none is named, MASTER while any vhid
 * is MASTER and BACKUP otherwise (ifstated's view of a carp interface). onMaster runs when that
 * state becomes MASTER, onBackup when it becomes BACKUP or INIT (INIT after BACKUP runs nothing: it
 * is still "not master").
 *
 * <p>Threading: {@link #stateChanged} runs on the engine's loop and only queues; one worker runs
 * the actions, in order, each with its own time limit, so the election never waits for them. When
 * several changes are queued, only the latest runs: an older one would, for example, bring a bridge
 * up on a node that has already stepped down. A failed action is logged, counted, reported to the
 * result listeners, and the next one runs.
 *
 * <p>Taking over from a master that still runs (preempt, peer-demoted, master-too-slow), onMaster
 * waits {@link ActionPlan#handoverDelay()}: our first advert makes the old master step down and run
 * its onBackup meanwhile, so two nodes never run their onMaster actions (e.g. forward on a bridge)
 * at the same time.
 */
public final class ActionRunner implements EngineListener, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ActionRunner.class);

  /** Transition reasons after which the previous master is still running. */
  static final Set<String> CONTESTED =
      Set.of(
          TransitionReason.PREEMPT.code(),
          TransitionReason.PEER_DEMOTED.code(),
          TransitionReason.MASTER_TOO_SLOW.code());

  /** Beyond a command's own timeout: time to kill it and collect its status. */
  private static final Duration GRACE = Duration.ofSeconds(2);

  public enum Trigger {
    STARTUP,
    MASTER,
    BACKUP,
    SHUTDOWN;

    public String label() {
      return name().toLowerCase();
    }
  }

  public enum Outcome {
    OK,
    FAILED,
    TIMEOUT,
    SKIPPED;

    public String label() {
      return name().toLowerCase();
    }
  }

  public record Result(Action action, Outcome outcome, Duration took, String error) {}

  /** One run of a trigger's actions; what status reporting shows. */
  public record RunReport(
      Trigger trigger, ActionContext context, Instant at, List<Result> results) {
    public long failed() {
      return results.stream()
          .filter(r -> r.outcome() == Outcome.FAILED || r.outcome() == Outcome.TIMEOUT)
          .count();
    }
  }

  private record Task(long seq, ActionContext context, boolean contested) {}

  private static final Task STOP = new Task(-1, null, false);

  private final ActionPlan plan;
  private final ActionExecutor executor;
  private final String node;
  private final String cluster;
  private final AgentMetrics metrics;
  private final List<Consumer<RunReport>> reportListeners = new CopyOnWriteArrayList<>();
  private final LinkedBlockingQueue<Task> queue = new LinkedBlockingQueue<>();
  private final ExecutorService actionThreads =
      Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("carp-action-", 0).factory());
  private final Thread worker;
  // guarded by this
  private final Map<String, CarpState> states = new HashMap<>();
  private Boolean master; // null until the first decision
  private long latestSeq;
  private int pending;
  private boolean stopping;
  private volatile RunReport lastReport;

  /**
   * @param cluster the FirewallCluster's name in Kubernetes mode, null standalone
   * @param metrics null in tests that do not look at metrics
   */
  public ActionRunner(
      ActionPlan plan, ActionExecutor executor, String node, String cluster, AgentMetrics metrics) {
    this.plan = plan;
    this.executor = executor;
    this.node = node;
    this.cluster = cluster;
    this.metrics = metrics;
    this.worker = Thread.ofPlatform().name("carp-actions").daemon().start(this::work);
  }

  /** Called with every run's results (on the worker thread): status reporting hooks in here. */
  public void addReportListener(Consumer<RunReport> listener) {
    reportListeners.add(listener);
  }

  /** The latest run, or null before any. */
  public RunReport lastReport() {
    return lastReport;
  }

  /** Start-up actions, before the first advert; blocks (each action within its time limit). */
  @Override
  public void beforeFirstAdvert() {
    int vhid = plan.vhid() == null ? 0 : plan.vhid();
    run(
        new ActionContext(
            Trigger.STARTUP, node, cluster, vhid, null, null, CarpState.INIT, "startup"));
  }

  @Override
  public void stateChanged(StateChange c) {
    if (plan.vhid() != null && c.vhid() != plan.vhid()) return;
    synchronized (this) {
      states.put(c.interfaceName() + "/" + c.vhid(), c.to());
      boolean nowMaster = states.containsValue(CarpState.MASTER);
      if (stopping || (master != null && master == nowMaster)) return;
      master = nowMaster;
      var context =
          new ActionContext(
              nowMaster ? Trigger.MASTER : Trigger.BACKUP,
              node,
              cluster,
              c.vhid(),
              c.interfaceName(),
              c.from(),
              c.to(),
              c.reason());
      enqueue(new Task(++latestSeq, context, nowMaster && CONTESTED.contains(c.reason())));
    }
  }

  /**
   * A clean stop, before the engine bows out: runs onBackup (trigger shutdown) unless nothing was
   * decided yet, and waits for it, so a backup taking over on our bow-out never finds us still
   * forwarding. Later changes are ignored.
   */
  public void beforeShutdown(Duration wait) {
    synchronized (this) {
      if (stopping) return;
      stopping = true;
      if (master != null) {
        master = false;
        enqueue(
            new Task(
                ++latestSeq,
                new ActionContext(
                    Trigger.SHUTDOWN,
                    node,
                    cluster,
                    plan.vhid() == null ? 0 : plan.vhid(),
                    null,
                    null,
                    CarpState.INIT,
                    "shutdown"),
                false));
      }
      long deadline = System.nanoTime() + wait.toNanos();
      try {
        while (pending > 0) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            log.warn(
                "shutdown actions still running after {} ms; stopping anyway",
                wait.toMillis(),
                kv("event", "action"));
            return;
          }
          TimeUnit.NANOSECONDS.timedWait(this, left);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    queue.add(STOP);
    try {
      worker.join(Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    actionThreads.shutdownNow();
  }

  // ------------------------------------------------------------------ worker

  private void enqueue(Task t) { // holding this
    pending++;
    queue.add(t);
    notifyAll(); // wakes a handover delay: it has been superseded
  }

  private void work() {
    while (true) {
      Task t;
      try {
        t = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      if (t == STOP) return;
      try {
        if (superseded(t) || (t.contested() && !plan.handoverDelay().isZero() && !waitOut(t))) {
          skip(t.context());
        } else {
          run(t.context());
        }
      } catch (RuntimeException e) {
        log.error("action run failed", e); // never lets the worker die
      } finally {
        synchronized (this) {
          pending--;
          notifyAll();
        }
      }
    }
  }

  private synchronized boolean superseded(Task t) {
    return t.seq() != latestSeq;
  }

  /** The handover delay; false when a newer change arrived meanwhile. */
  private synchronized boolean waitOut(Task t) {
    log.info(
        "taking over from a running master ({}): onMaster actions in {} ms",
        t.context().reason(),
        plan.handoverDelay().toMillis(),
        kv("event", "action-handover"),
        kv("node", node),
        kv("vhid", t.context().vhid()));
    long deadline = System.nanoTime() + plan.handoverDelay().toNanos();
    try {
      while (t.seq() == latestSeq) {
        long left = deadline - System.nanoTime();
        if (left <= 0) return true;
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return false;
  }

  private List<Action> actionsFor(Trigger trigger) {
    return switch (trigger) {
      case STARTUP -> plan.onStartup();
      case MASTER -> plan.onMaster();
      case BACKUP, SHUTDOWN -> plan.onBackup();
    };
  }

  private void skip(ActionContext ctx) {
    for (Action a : actionsFor(ctx.trigger())) {
      log.info(
          "skipped {} ({}: superseded by a newer state change)",
          a.describe(),
          ctx.trigger().label(),
          kv("event", "action"),
          kv("node", node),
          kv("trigger", ctx.trigger().label()),
          kv("kind", a.kind()),
          kv("action", a.describe()),
          kv("result", "skipped"));
      count(ctx.trigger(), a, Outcome.SKIPPED, null);
    }
  }

  private void run(ActionContext ctx) {
    List<Action> actions = actionsFor(ctx.trigger());
    if (actions.isEmpty()) return;
    List<Result> results = new ArrayList<>();
    for (Action a : actions) {
      Result r = runOne(a, ctx);
      results.add(r);
      String line =
          a.describe()
              + " ("
              + ctx.trigger().label()
              + "): "
              + r.outcome().label()
              + (r.error() == null ? "" : ": " + r.error());
      Object[] fields = {
        kv("event", "action"),
        kv("node", node),
        kv("trigger", ctx.trigger().label()),
        kv("kind", a.kind()),
        kv("action", a.describe()),
        kv("result", r.outcome().label()),
        kv("millis", r.took().toMillis()),
        kv("vhid", ctx.vhid()),
        kv("state", ctx.to().name()),
        kv("error", r.error())
      };
      if (r.outcome() == Outcome.OK) log.info(line, fields);
      else log.warn(line, fields);
      count(ctx.trigger(), a, r.outcome(), r.took());
    }
    RunReport report = new RunReport(ctx.trigger(), ctx, Instant.now(), List.copyOf(results));
    lastReport = report;
    if (metrics != null) metrics.actionsFailing.set(report.failed());
    for (Consumer<RunReport> l : reportListeners) {
      try {
        l.accept(report);
      } catch (RuntimeException e) {
        log.warn("action report listener failed", e);
      }
    }
  }

  private Result runOne(Action a, ActionContext ctx) {
    long t0 = System.nanoTime();
    Future<?> f =
        actionThreads.submit(
            () -> {
              executor.execute(a, ctx);
              return null;
            });
    Outcome outcome;
    String error = null;
    try {
      f.get(
          a.timeout().plus(a instanceof Action.Command ? GRACE : Duration.ZERO).toMillis(),
          TimeUnit.MILLISECONDS);
      outcome = Outcome.OK;
    } catch (TimeoutException e) {
      f.cancel(true);
      outcome = Outcome.TIMEOUT;
      error = "no result within " + a.timeout().toMillis() + " ms";
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      outcome = cause instanceof TimeoutException ? Outcome.TIMEOUT : Outcome.FAILED;
      error = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      outcome = Outcome.FAILED;
      error = "interrupted";
    }
    return new Result(a, outcome, Duration.ofNanos(System.nanoTime() - t0), error);
  }

  private void count(Trigger trigger, Action a, Outcome outcome, Duration took) {
    if (metrics == null) return;
    metrics.actions.labelValues(trigger.label(), a.kind(), outcome.label()).inc();
    if (took != null) metrics.actionSeconds.labelValues(a.kind()).observe(took.toNanos() / 1e9);
  }
}
