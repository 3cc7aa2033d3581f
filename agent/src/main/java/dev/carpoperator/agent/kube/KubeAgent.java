package dev.carpoperator.agent.kube;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.actions.ActionExecutor;
import dev.carpoperator.agent.actions.ActionPlan;
import dev.carpoperator.agent.actions.ActionRunner;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.config.ActionsConfig;
import dev.carpoperator.agent.config.NotificationsConfig;
import dev.carpoperator.agent.config.SyncSettings;
import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.engine.SyncEngine;
import dev.carpoperator.agent.health.HealthChecks;
import dev.carpoperator.agent.health.NetworkProbe;
import dev.carpoperator.agent.notify.WebhookNotifier;
import dev.carpoperator.agent.sync.BulkState;
import dev.carpoperator.agent.sync.SyncEnvelope;
import dev.carpoperator.api.v1alpha1.BulkSyncState;
import dev.carpoperator.api.v1alpha1.DemotionSpec;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.SecretKeyRef;
import dev.carpoperator.api.v1alpha1.SyncMode;
import dev.carpoperator.api.v1alpha1.SyncSpec;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent in Kubernetes: watches only what concerns its node (its FirewallCluster, that cluster's
 * addresses, the Secrets of its namespace, its own Node), turns them into a {@link KubePlan} and
 * applies it to the engine without disturbing unchanged vhids. Elections never wait for the API
 * server: the engine runs on the last plan it was given, and the informers reconnect by themselves.
 */
public final class KubeAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeAgent.class);
  private static final long DEBOUNCE_MILLIS = 200;

  private final KubernetesClient client;
  private final String node;
  private final String cluster;
  private final String namespace;
  private final Function<KubePlan, CarpEngine> engineFactory;
  private final KubePlan.InterfaceFinder interfaces;
  private final ScheduledExecutorService planner =
      Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "carp-kube-plan"));
  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
  private volatile Map<KubePlan.Vhost, String> addressOf = Map.of();
  private SharedIndexInformer<FirewallCluster> clusters;
  private SharedIndexInformer<VirtualAddress> addresses;
  private SecretSource secrets;
  private List<String> secretNames = List.of();
  private SharedIndexInformer<Node> nodes;
  private ScheduledFuture<?> pending;
  private CarpEngine engine;
  private StatusReporter reporter;
  private NodeHeartbeat heartbeat;
  private HealthChecks health;
  private Set<String> lastProblems = Set.of();
  private KubePlan applied;
  private final ActionExecutor actionExecutor;
  private ActionRunner actions;
  private WebhookNotifier webhook;
  private final SyncStarter syncStarter;
  private SyncEngine sync;

  /**
   * Starts the state sync for FirewallCluster.spec.sync (the real one needs root and the sync NIC;
   * null runs none).
   */
  @FunctionalInterface
  public interface SyncStarter {
    SyncEngine start(SyncEngine.Settings settings, CarpEngine engine, boolean demoteWhilePending)
        throws IOException;
  }

  /**
   * How long onMaster waits when preempting a master that still runs, so its onBackup goes first.
   */
  static final Duration HANDOVER_DELAY =
      Duration.ofMillis(ActionsConfig.DEFAULT_HANDOVER_DELAY_MILLIS);

  private volatile boolean engineStarted;

  /** Secrets already warned about (each once per agent run). */
  private final Set<String> warnedPlaceholders = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** {@code engineFactory} builds (not starts) the engine for the first plan. */
  public KubeAgent(
      KubernetesClient client,
      String node,
      String cluster,
      String namespace,
      Function<KubePlan, CarpEngine> engineFactory,
      KubePlan.InterfaceFinder interfaces) {
    this(client, node, cluster, namespace, engineFactory, interfaces, null, null);
  }

  /** {@code actionExecutor} runs FirewallCluster.spec.actions; null runs none. */
  public KubeAgent(
      KubernetesClient client,
      String node,
      String cluster,
      String namespace,
      Function<KubePlan, CarpEngine> engineFactory,
      KubePlan.InterfaceFinder interfaces,
      ActionExecutor actionExecutor,
      SyncStarter syncStarter) {
    this.actionExecutor = actionExecutor;
    this.syncStarter = syncStarter;
    this.client = client;
    this.node = node;
    this.cluster = cluster;
    this.namespace = namespace;
    this.engineFactory = engineFactory;
    this.interfaces = interfaces;
  }

  /**
   * Read only these Secrets (the chart's agent.secretNames), by name; empty: every Secret of the
   * namespace.
   */
  public KubeAgent readSecretsByName(List<String> names) {
    this.secretNames = List.copyOf(names);
    return this;
  }

  public void start() {
    ResourceEventHandler<Object> replan =
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(Object obj) {
            schedule();
          }

          @Override
          public void onUpdate(Object oldObj, Object newObj) {
            schedule();
          }

          @Override
          public void onDelete(Object obj, boolean deletedFinalStateUnknown) {
            schedule();
          }
        };
    // Each waits for its first list while the API server is down or overloaded (PatientInformers).
    clusters =
        inform(
            PatientInformers.run(
                client.resources(FirewallCluster.class).withField("metadata.name", cluster),
                handler(replan),
                "FirewallCluster " + cluster));
    addresses = inform(AddressWatch.start(client, cluster, handler(replan)).informer());
    secrets = SecretSource.start(client, namespace, secretNames, handler(replan));
    nodes =
        inform(
            PatientInformers.run(
                client.nodes().withField("metadata.name", node), handler(replan), "Node " + node));
    heartbeat = NodeHeartbeat.start(client, namespace, node);
    log.info(
        "watching the API server",
        kv("node", node),
        kv("cluster", cluster),
        kv("namespace", namespace));
    schedule();
  }

  @SuppressWarnings("unchecked")
  private static <T> ResourceEventHandler<T> handler(ResourceEventHandler<Object> h) {
    return (ResourceEventHandler<T>) (ResourceEventHandler<?>) h;
  }

  private <T> SharedIndexInformer<T> inform(SharedIndexInformer<T> informer) {
    informers.add(informer);
    return informer;
  }

  private synchronized void schedule() {
    if (pending != null && !pending.isDone()) return;
    pending = planner.schedule(this::replan, DEBOUNCE_MILLIS, TimeUnit.MILLISECONDS);
  }

  private void replan() {
    try {
      if (clusters == null
          || addresses == null
          || secrets == null
          || nodes == null
          || !(clusters.hasSynced()
              && addresses.hasSynced()
              && secrets.hasSynced()
              && nodes.hasSynced())) {
        schedule(); // wait for a full picture rather than acting on half of it
        return;
      }
      Node self = nodes.getStore().list().stream().findFirst().orElse(null);
      Map<String, String> labels =
          self == null || self.getMetadata().getLabels() == null
              ? Map.of()
              : self.getMetadata().getLabels();
      FirewallCluster fwc = clusters.getStore().list().stream().findFirst().orElse(null);
      KubePlan plan =
          KubePlan.compute(
              node,
              labels,
              cluster,
              fwc,
              addresses.getStore().list(),
              this::secretValue,
              interfaces);
      reportProblems(plan);
      addressOf = Map.copyOf(plan.addressOf());
      if (engine == null) {
        engine = engineFactory.apply(plan);
        CarpEngine started = engine;
        reporter =
            new StatusReporter(
                    client,
                    node,
                    () -> addressOf,
                    ifName -> started.rejected(ifName, RejectReason.BAD_AUTH))
                .heartbeat(heartbeat == null ? () -> false : heartbeat::renewing);
        engine.addListener(reporter);
        // Optional features (actions, the webhook) are read once, when the engine starts; a problem
        // with one is
        // logged and the election starts without it: a typo in a notification setting must not
        // leave a node unable
        // to take over.
        startOptional("actions", () -> startActions(fwc));
        startOptional("webhook", () -> startWebhook(fwc));
        DemotionSpec demotionSpec = fwc == null ? null : fwc.getSpec().getDemotion();
        engine.demoteUntilReady(
            demotionSpec == null || !Boolean.FALSE.equals(demotionSpec.getUntilReady()));
        startSync(fwc);
        StatusReporter r = reporter;
        health =
            new HealthChecks(
                new NetworkProbe(),
                (address, weight, failing) -> {
                  for (int vhid : address.vhids()) started.setCheckDemotion(vhid, weight);
                  r.healthChanged(address.key(), weight, failing);
                },
                engine.metrics().healthObserver());
        health.apply(plan.healthChecks()); // first verdicts before the vhids start, if they can
        engine.start();
        engineStarted = true;
      } else if (!samePlan(
          plan, applied)) { // status writes also wake the informers: act only on real changes
        engine.reconfigure(plan.preempt(), plan.vhosts());
        engine.setMaintenanceDemotion(plan.maintenance());
        health.apply(plan.healthChecks());
        reporter.addressesChanged();
      }
      applied = plan;
    } catch (Exception e) {
      log.error(
          "cannot apply the configuration from the API server; still running the previous one",
          kv("event", "reconfigure-refused"),
          kv("error", e.toString()));
    }
  }

  private void startActions(FirewallCluster fwc) {
    var plan0 = ActionPlan.fromCrd(fwc == null ? null : fwc.getSpec().getActions(), HANDOVER_DELAY);
    if (actionExecutor == null || plan0.isEmpty()) return;
    actions = new ActionRunner(plan0, actionExecutor, node, cluster, engine.metrics());
    engine.addListener(actions);
    StatusReporter r = reporter;
    actions.addReportListener(
        run ->
            r.actionsRan(
                run.failed(),
                run.results().stream()
                    .filter(x -> x.error() != null)
                    .map(x -> x.action().describe() + ": " + x.error())
                    .findFirst()
                    .orElse(null)));
  }

  private void startWebhook(FirewallCluster fwc) {
    var hook =
        fwc == null || fwc.getSpec().getNotifications() == null
            ? null
            : fwc.getSpec().getNotifications().getWebhook();
    if (hook == null) return;
    webhook =
        WebhookNotifier.of(
            new NotificationsConfig.WebhookConfig(
                hook.getUrl(),
                hook.getTimeoutSeconds() == null
                    ? NotificationsConfig.WebhookConfig.DEFAULT_TIMEOUT_SECONDS
                    : hook.getTimeoutSeconds(),
                hook.getRetries() == null
                    ? NotificationsConfig.WebhookConfig.DEFAULT_RETRIES
                    : hook.getRetries()),
            cluster,
            engine.metrics());
    engine.addListener(webhook);
  }

  /**
   * Runs an optional feature's start; its failure is logged (the agent restarts to retry it), never
   * thrown.
   */
  public static boolean startOptional(String feature, Runnable start) {
    try {
      start.run();
      return true;
    } catch (RuntimeException e) {
      log.error(
          "cannot start the {}; CARP runs without it (fix the FirewallCluster and restart the agent pods)",
          feature,
          kv("event", "feature-refused"),
          kv("feature", feature),
          kv("error", e.getMessage()));
      return false;
    }
  }

  /**
   * Sync is read once, like actions: the agent restarts to change it. Problems are logged, CARP
   * runs regardless.
   */
  private void startSync(FirewallCluster fwc) {
    SyncSpec spec = fwc == null ? null : fwc.getSpec().getSync();
    if (spec == null || syncStarter == null) return;
    byte[] key = null;
    if (spec.getMode() != SyncMode.BSD_COMPATIBLE) {
      SecretKeyRef ref = spec.getKeySecretRef();
      Optional<byte[]> value =
          ref == null ? Optional.empty() : secretBytes(ref).map(SyncEnvelope::trimKey);
      if (value.isEmpty() || value.get().length < SyncEnvelope.MIN_SECRET_BYTES) {
        log.error(
            "state sync not started: the sync key Secret {} is missing, unreadable here or shorter than {} bytes "
                + "(agents read Secrets of their own namespace {} only)",
            ref == null ? "(none)" : ref.getNamespace() + "/" + ref.getName(),
            SyncEnvelope.MIN_SECRET_BYTES,
            namespace,
            kv("event", "sync-not-started"));
        return;
      }
      key = value.get();
    }
    try {
      var settings = SyncSettings.of(spec, key);
      DemotionSpec demotion = fwc.getSpec().getDemotion();
      boolean demote =
          demotion == null
              || demotion.getWhileSyncPending() == null
              || demotion.getWhileSyncPending();
      sync = syncStarter.start(settings, engine, demote);
      StatusReporter r = reporter;
      sync.addBulkListener(state -> r.syncChanged(bulkSyncState(state)));
    } catch (IOException | RuntimeException e) {
      log.error("state sync not started: {}", e.getMessage(), kv("event", "sync-not-started"));
    }
  }

  /** The engine's bulk state as the status reports it. */
  static BulkSyncState bulkSyncState(BulkState state) {
    return switch (state) {
      case IDLE -> BulkSyncState.IDLE;
      case REQUESTING -> BulkSyncState.REQUESTING;
      case RECEIVING -> BulkSyncState.RECEIVING;
      case DONE -> BulkSyncState.DONE;
      case TIMED_OUT -> BulkSyncState.TIMED_OUT;
    };
  }

  private static boolean samePlan(KubePlan a, KubePlan b) {
    return b != null
        && a.preempt() == b.preempt()
        && a.maintenance() == b.maintenance()
        && a.vhosts().equals(b.vhosts())
        && a.healthChecks().equals(b.healthChecks());
  }

  private void reportProblems(KubePlan plan) {
    Set<String> now = new HashSet<>(plan.problems());
    for (String p : now) if (!lastProblems.contains(p)) log.warn(p, kv("event", "config-problem"));
    lastProblems = now;
    if (!plan.selected())
      log.info(
          "this node is not selected by FirewallCluster {}; running no vhid",
          cluster,
          kv("event", "not-selected"));
  }

  private Optional<String> secretValue(SecretKeyRef ref) {
    return secretBytes(ref).map(b -> new String(b, StandardCharsets.UTF_8));
  }

  private Optional<byte[]> secretBytes(SecretKeyRef ref) {
    Optional<byte[]> value = readSecret(ref);
    value
        .filter(ExampleSecrets::isPlaceholder)
        .ifPresent(
            v -> {
              if (warnedPlaceholders.add(
                  ref.getNamespace() + "/" + ref.getName() + "/" + ref.getKey())) {
                log.warn(
                    "Secret {}/{} still holds the examples' placeholder value: anyone who read the examples can forge what it"
                        + " protects; replace it with a random value (e.g. openssl rand -base64 24)",
                    ref.getNamespace(),
                    ref.getName(),
                    kv("event", "example-secret"),
                    kv("secret", ref.getNamespace() + "/" + ref.getName()));
              }
            });
    return value;
  }

  private Optional<byte[]> readSecret(SecretKeyRef ref) {
    if (!namespace.equals(ref.getNamespace()))
      return Optional.empty(); // agents may read their own namespace only
    String key =
        ref.getKey() == null
            ? "password"
            : ref.getKey(); // SecretKeyRef's default, as the CRD fills it in
    if (!secrets.watches(ref.getName())) {
      if (warnedPlaceholders.add("unwatched/" + ref.getName())) {
        log.error(
            "Secret {}/{} is not among the Secrets this agent may read (the chart's agent.secretNames): add it there",
            namespace,
            ref.getName(),
            kv("event", "secret-not-allowed"),
            kv("secret", ref.getName()));
      }
      return Optional.empty();
    }
    return secrets
        .find(ref.getName())
        .flatMap(
            s ->
                Optional.ofNullable(s.getData() == null ? null : s.getData().get(key))
                    .map(b64 -> Base64.getDecoder().decode(b64))
                    .or(
                        () ->
                            Optional.ofNullable(
                                    s.getStringData() == null ? null : s.getStringData().get(key))
                                .map(v -> v.getBytes(StandardCharsets.UTF_8))));
  }

  /**
   * Ready for the DaemonSet's readiness probe: CARP runs, and the state sync (if any) has its
   * peers' table.
   */
  public boolean ready() {
    SyncEngine s = sync;
    return engineStarted && (s == null || !s.bulkState().pending());
  }

  /** The state sync, when FirewallCluster.spec.sync asked for one and it started. */
  public SyncEngine sync() {
    return sync;
  }

  /** The engine, once the first plan has been applied (tests and metrics). */
  public CarpEngine engine() {
    return engine;
  }

  @Override
  public void close() {
    planner.shutdownNow();
    informers.forEach(SharedIndexInformer::close);
    if (secrets != null) secrets.close();
    if (actions != null)
      actions.beforeShutdown(Duration.ofSeconds(15)); // onBackup before the bow-out
    if (health != null) health.close();
    if (engine != null) engine.close(); // bow out
    if (sync != null) sync.close();
    if (actions != null) actions.close();
    if (webhook != null) webhook.close(Duration.ofSeconds(3)); // deliver the shutdown's own changes
    if (reporter != null) reporter.close();
    if (heartbeat != null) heartbeat.close();
  }
}
