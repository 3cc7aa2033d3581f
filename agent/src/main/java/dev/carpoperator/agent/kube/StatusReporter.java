package dev.carpoperator.agent.kube;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.engine.EngineListener;
import dev.carpoperator.api.v1alpha1.BulkSyncState;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes this node's state per vhid into {@code VirtualAddress.status.nodes}: server-side apply of
 * its own entries only, with its own field manager, so many agents never conflict. Writes are
 * coalesced per address (at most one every {@link #MIN_INTERVAL_MILLIS}), made by {@link
 * #PARALLEL_WRITES} threads of their own (one writer made an agent with 250 addresses report its
 * masters at about 20 a second), and skipped when the entries are what was last written, except for
 * the periodic refreshes that keep {@code lastReport} fresh. While the node's {@link NodeHeartbeat}
 * Lease is renewed, that Lease tells the operator the agent is alive and the refreshes are left out
 * (but for a slow backstop); without it (an older chart's RBAC) they are written as before. When
 * the API server is unreachable writes are retried with backoff and the election goes on
 * regardless.
 */
public final class StatusReporter implements EngineListener, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StatusReporter.class);
  static final long MIN_INTERVAL_MILLIS = 250;

  /**
   * A MASTER entry is refreshed this often: the operator takes silence after another node's
   * takeover as death.
   */
  static final long MASTER_REFRESH_MILLIS = 10_000;

  static final long REFRESH_MILLIS = 60_000;

  /**
   * With the heartbeat Lease renewed, every entry is still written this often: it heals an entry
   * the API server lost (an address deleted and created again under the same name within one plan's
   * debounce).
   */
  static final long BACKSTOP_REFRESH_MILLIS = 10 * 60_000;

  private static final long MAX_BACKOFF_MILLIS = 30_000;

  /** Status writes in flight at once: several addresses' writes share one round trip's wait. */
  static final int PARALLEL_WRITES = 4;

  private final KubernetesClient client;
  private final String node;
  private final Supplier<Map<KubePlan.Vhost, String>> addressOf; // vhost -> VirtualAddress name
  private final Map<KubePlan.Vhost, NodeVhidStatus> latest =
      new ConcurrentHashMap<>(); // vhost -> our entry
  private final Set<String> dirty = ConcurrentHashMap.newKeySet(); // VirtualAddress names
  private final Set<String> reportedTo = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> lastWrite = new ConcurrentHashMap<>();
  private final Set<String> refreshDue = ConcurrentHashMap.newKeySet(); // written even if unchanged
  private final Map<String, String> written = new ConcurrentHashMap<>(); // entries, no lastReport
  private final LongAdder writes = new LongAdder();
  private final LongAdder unchanged = new LongAdder();
  private final ExecutorService writers =
      Executors.newFixedThreadPool(
          PARALLEL_WRITES, Thread.ofPlatform().name("carp-status-write-", 0).daemon().factory());
  private final Thread worker;
  private volatile boolean stopped;
  private volatile boolean unreachable;
  private volatile long failedActions;
  private volatile String actionError;

  private final ToLongFunction<String> authFailuresOf; // cumulative, per interface
  private volatile BooleanSupplier heartbeat = () -> false; // the Lease says we are alive
  private final Map<String, RecentCount> recentAuthFailures = new ConcurrentHashMap<>();
  static final long AUTH_WINDOW_MILLIS = 5 * 60_000;

  private volatile BulkSyncState syncState;
  private volatile int demotion = -1; // the advertised demotion; -1 until the engine says
  private final Map<String, Health> health = new ConcurrentHashMap<>(); // by VirtualAddress

  /** What the health checks of one address say on this node. */
  private record Health(int weight, List<String> failing) {}

  public StatusReporter(
      KubernetesClient client, String node, Supplier<Map<KubePlan.Vhost, String>> addressOf) {
    this(client, node, addressOf, ifName -> 0);
  }

  /**
   * {@code authFailuresOf} gives the adverts rejected for a bad HMAC on an interface since the
   * agent started.
   */
  public StatusReporter(
      KubernetesClient client,
      String node,
      Supplier<Map<KubePlan.Vhost, String>> addressOf,
      ToLongFunction<String> authFailuresOf) {
    this.client = client;
    this.node = node;
    this.addressOf = addressOf;
    this.authFailuresOf = authFailuresOf;
    this.worker = Thread.ofPlatform().name("carp-status").daemon().start(this::run);
  }

  /**
   * {@code renewing} tells whether the node's heartbeat Lease is being renewed: while it is, the
   * refreshes that only keep {@code lastReport} fresh are left out.
   */
  public StatusReporter heartbeat(BooleanSupplier renewing) {
    this.heartbeat = renewing;
    return this;
  }

  @Override
  public void stateChanged(StateChange c) {
    var key = new KubePlan.Vhost(c.interfaceName(), c.vhid());
    NodeVhidStatus e = new NodeVhidStatus();
    e.setName(node);
    e.setVhid(c.vhid());
    e.setState(CarpState.valueOf(c.to().name()));
    e.setAdvskew(c.advskew());
    e.setDemotion(c.demotion());
    e.setSince(c.at().toString());
    e.setReason(c.reason());
    latest.put(key, e);
    String va = addressOf.get().get(key);
    if (va != null) markDirty(va);
  }

  /**
   * A vhid the engine does not run (e.g. its address is this node's own): reported as INIT with the
   * refusal's reason, so that {@code kubectl get virtualaddress -o yaml} shows why this node takes
   * no part.
   */
  @Override
  public void vhidRefused(String interfaceName, int vhid, String reason, String message) {
    var key = new KubePlan.Vhost(interfaceName, vhid);
    NodeVhidStatus e = new NodeVhidStatus();
    e.setName(node);
    e.setVhid(vhid);
    e.setState(CarpState.INIT);
    e.setSince(Instant.now().toString());
    e.setReason(reason);
    latest.put(key, e);
    String va = addressOf.get().get(key);
    if (va != null) markDirty(va);
  }

  /**
   * The demotion the node advertises now, reported in every entry of this node: without it an entry
   * kept the value of its last state change (a backup that came up during the start-up demotion
   * showed 128 until its next transition).
   */
  @Override
  public void demotionChanged(int advertised) {
    if (advertised == demotion) return;
    demotion = advertised;
    for (String va : new LinkedHashSet<>(addressOf.get().values())) markDirty(va);
  }

  /**
   * The health checks of one VirtualAddress: {@code weight} is added to the node's demotion in its
   * entries (the engine adds it to that vhid's adverts), {@code failing} is shown as failingChecks.
   */
  public void healthChanged(String va, int weight, List<String> failing) {
    if (weight == 0 && failing.isEmpty()) health.remove(va);
    else health.put(va, new Health(weight, List.copyOf(failing)));
    markDirty(va);
  }

  /**
   * The state sync's start-up bulk state, reported in every entry of this node; null without sync.
   */
  public void syncChanged(BulkSyncState state) {
    if (Objects.equals(state, syncState)) return;
    syncState = state;
    for (String va : new LinkedHashSet<>(addressOf.get().values())) markDirty(va);
  }

  /**
   * The outcome of the node's last action run (spec.actions); reported in every entry of this node.
   */
  public void actionsRan(long failed, String firstError) {
    boolean changed = failed != failedActions || !Objects.equals(firstError, actionError);
    failedActions = failed;
    actionError = firstError;
    if (changed) for (String va : new LinkedHashSet<>(addressOf.get().values())) markDirty(va);
  }

  /** The set of addresses changed: entries of addresses that are no longer ours are withdrawn. */
  public void addressesChanged() {
    Map<KubePlan.Vhost, String> now = addressOf.get();
    latest.keySet().removeIf(k -> !now.containsKey(k));
    for (String va : List.copyOf(reportedTo)) if (!now.containsValue(va)) markDirty(va);
  }

  private void markDirty(String va) {
    dirty.add(va);
    synchronized (dirty) {
      dirty.notifyAll();
    }
  }

  private void run() {
    long backoff = 1000;
    long lastRefresh = System.currentTimeMillis();
    long lastMasterRefresh = System.currentTimeMillis();
    while (!stopped) {
      try {
        synchronized (dirty) {
          if (dirty.isEmpty()) dirty.wait(1000);
        }
        long nowMillis = System.currentTimeMillis();
        boolean leased = heartbeat.getAsBoolean();
        if (nowMillis - lastRefresh > (leased ? BACKSTOP_REFRESH_MILLIS : REFRESH_MILLIS)) {
          // lastReport stays fresh for "agent alive" (without the Lease), or heals a lost entry
          Set<String> all = new LinkedHashSet<>(addressOf.get().values());
          refreshDue.addAll(all);
          dirty.addAll(all);
          lastRefresh = nowMillis;
        } else if (leased) {
          lastMasterRefresh = nowMillis; // the Lease's renewals show that our masters are alive
        } else if (nowMillis - lastMasterRefresh > MASTER_REFRESH_MILLIS) {
          Map<KubePlan.Vhost, String> owners = addressOf.get();
          latest.forEach(
              (key, e) -> {
                if (e.getState() == CarpState.MASTER && owners.containsKey(key)) {
                  refreshDue.add(owners.get(key));
                  dirty.add(owners.get(key));
                }
              });
          lastMasterRefresh = nowMillis;
        }
        List<Callable<Boolean>> due = new ArrayList<>();
        for (String va : List.copyOf(dirty)) {
          Long last = lastWrite.get(va);
          if (last != null && System.currentTimeMillis() - last < MIN_INTERVAL_MILLIS) continue;
          dirty.remove(va);
          due.add(() -> writeOrRequeue(va));
        }
        boolean failed = false;
        for (Future<Boolean> outcome : writers.invokeAll(due)) failed |= !outcome.resultNow();
        if (failed) {
          TimeUnit.MILLISECONDS.sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
        } else {
          if (unreachable)
            log.info(
                "API server reachable again; status reported",
                kv("event", "status-report-recovered"));
          unreachable = false;
          backoff = 1000;
          if (!dirty.isEmpty()) TimeUnit.MILLISECONDS.sleep(MIN_INTERVAL_MILLIS / 2);
        }
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Writes one address's entries; false (and the address dirty again) when that failed. */
  private boolean writeOrRequeue(String va) {
    try {
      write(va);
      lastWrite.put(va, System.currentTimeMillis());
      return true;
    } catch (RuntimeException e) {
      dirty.add(va);
      if (!unreachable)
        log.warn(
            "cannot report status to the API server; CARP goes on, retrying",
            kv("event", "status-report-failed"),
            kv("virtualAddress", va),
            kv("error", e.toString()));
      unreachable = true;
      return false;
    }
  }

  /** Status writes sent to the API server so far. */
  long writes() {
    return writes.sum();
  }

  /** Writes left out because the entries were what the API server already had. */
  long unchangedSkipped() {
    return unchanged.sum();
  }

  private void write(String va) {
    Map<KubePlan.Vhost, String> owners = addressOf.get();
    List<NodeVhidStatus> entries = new ArrayList<>();
    String now = Instant.now().toString();
    owners.forEach(
        (key, name) -> {
          NodeVhidStatus e = latest.get(key);
          if (name.equals(va) && e != null) {
            e.setLastReport(null); // set below, once the write is known to be needed
            e.setFailedActions(failedActions);
            e.setActionError(actionError);
            e.syncState(syncState);
            Health h = health.get(va);
            if (demotion >= 0)
              e.setDemotion(Math.min(255, demotion + (h == null ? 0 : h.weight())));
            e.setFailingChecks(h == null || h.failing().isEmpty() ? null : h.failing());
            String ifName = key.interfaceName();
            long cumulative = authFailuresOf.applyAsLong(ifName);
            e.setAuthFailures(
                recentAuthFailures
                    .computeIfAbsent(
                        ifName, i -> new RecentCount(AUTH_WINDOW_MILLIS, System::currentTimeMillis))
                    .read(cumulative));
            entries.add(e);
          }
        });
    // Still ours but no vhid has a state yet (e.g. the sync's start-up state came first): nothing
    // to say, and an empty
    // list would withdraw the entries of the agent before this one, which the operator would read
    // as a missing agent.
    if (entries.isEmpty() && owners.containsValue(va)) return;
    boolean refresh = refreshDue.contains(va); // removed once written: a failed one stays due
    String content = client.getKubernetesSerialization().asJson(entries);
    if (!refresh && content.equals(written.get(va))) {
      // A VirtualAddress deleted and created again under the same name within one plan's debounce
      // gets our entries back at the next refresh (MASTER_REFRESH_MILLIS for a master).
      unchanged.increment();
      return;
    }
    for (NodeVhidStatus e : entries) e.setLastReport(now);
    VirtualAddress patch = new VirtualAddress();
    patch.setMetadata(new ObjectMetaBuilder().withName(va).build());
    patch.setSpec(null);
    VirtualAddressStatus status = new VirtualAddressStatus();
    status.setConditions(null);
    status.setNodes(entries); // empty: withdraws our entries (the address is no longer ours)
    patch.setStatus(status);
    try {
      client
          .resources(VirtualAddress.class)
          .withName(va)
          .subresource("status")
          .patch(
              new PatchContext.Builder()
                  .withPatchType(PatchType.SERVER_SIDE_APPLY)
                  .withFieldManager("carp-agent-" + node)
                  .withForce(true)
                  .build(),
              patch);
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      if (e.getCode() == 404) { // the address was deleted: nothing to report
        reportedTo.remove(va);
        written.remove(va);
        refreshDue.remove(va);
        return;
      }
      throw e;
    }
    writes.increment();
    written.put(va, content);
    refreshDue.remove(va);
    if (entries.isEmpty()) reportedTo.remove(va);
    else reportedTo.add(va);
  }

  @Override
  public void close() {
    stopped = true;
    worker.interrupt();
    writers.shutdownNow();
  }
}
