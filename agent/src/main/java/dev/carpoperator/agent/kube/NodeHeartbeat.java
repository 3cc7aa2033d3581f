package dev.carpoperator.agent.kube;

import static net.logstash.logback.argument.StructuredArguments.kv;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's "I am alive": a {@code coordination.k8s.io} Lease named {@code carp-agent-<node>} in
 * the agents' namespace, renewed every {@link #RENEW_INTERVAL}, as kubelets do in {@code
 * kube-node-lease}. The operator reads a node's last renewal as the time its agent was last heard
 * from, so the agent no longer rewrites every VirtualAddress entry to say it is alive: with 1,000
 * addresses those refreshes were about 100 status writes a second, most of the API server's work.
 *
 * <p>Every renewal also sets {@code acquireTime} to when this run of the agent started. Status
 * entries written before that are an earlier run's (a node that crashed and came back): the
 * operator does not take this run's renewals as a sign that those entries still hold, so a stale
 * MASTER entry is superseded at once rather than showing as a second master until rewritten.
 *
 * <p>While renewals fail (the chart of an older version has no Lease permission, the API server is
 * down) {@link #renewing()} is false and the {@link StatusReporter} goes back to refreshing its
 * entries.
 */
public final class NodeHeartbeat implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeHeartbeat.class);

  /** How often the Lease is renewed. */
  public static final Duration RENEW_INTERVAL = Duration.ofSeconds(10);

  /** The Lease's {@code leaseDurationSeconds}: four renewals. */
  public static final int LEASE_DURATION_SECONDS = 40;

  /** Labels the operator selects the agents' Leases by. */
  public static final Map<String, String> LABELS =
      Map.of("app.kubernetes.io/name", "carp-agent", "app.kubernetes.io/component", "heartbeat");

  /** RFC 3339 with microseconds, as the API server's MicroTime expects. */
  private static final DateTimeFormatter MICRO_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  private final KubernetesClient client;
  private final String namespace;
  private final String node;
  private final Clock clock;
  private final Instant startedAt; // this run's acquireTime: before any status entry it writes
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().name("carp-heartbeat").daemon().factory());
  private volatile Instant lastRenewed; // null until the first success
  private volatile boolean failing;

  NodeHeartbeat(KubernetesClient client, String namespace, String node, Clock clock) {
    this.client = client;
    this.namespace = namespace;
    this.node = node;
    this.clock = clock;
    this.startedAt = clock.instant();
  }

  /** Starts renewing at once, then every {@link #RENEW_INTERVAL}. */
  public static NodeHeartbeat start(KubernetesClient client, String namespace, String node) {
    NodeHeartbeat h = new NodeHeartbeat(client, namespace, node, Clock.systemUTC());
    h.timer.scheduleWithFixedDelay(
        h::renewQuietly, 0, RENEW_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    return h;
  }

  /** The Lease's name for {@code node}. */
  public static String leaseName(String node) {
    return "carp-agent-" + node;
  }

  /**
   * True when the last renewal is recent (within two intervals): the operator can tell this agent
   * is alive without entry refreshes.
   */
  public boolean renewing() {
    Instant last = lastRenewed;
    return last != null
        && !failing
        && Duration.between(last, clock.instant()).compareTo(RENEW_INTERVAL.multipliedBy(2)) < 0;
  }

  /** True while the last renewal failed (for tests and logs). */
  boolean failing() {
    return failing;
  }

  private void renewQuietly() {
    try {
      renew();
      if (failing) log.info("heartbeat Lease renewed again", kv("event", "heartbeat-recovered"));
      failing = false;
    } catch (RuntimeException e) {
      if (!failing)
        log.warn(
            "cannot renew the heartbeat Lease; the agent refreshes its status entries instead"
                + (e instanceof KubernetesClientException k && k.getCode() == 403
                    ? " (the agent's Role lacks create/patch on coordination.k8s.io leases: upgrade"
                        + " the chart's RBAC)"
                    : ""),
            kv("event", "heartbeat-failed"),
            kv("lease", namespace + "/" + leaseName(node)),
            kv("error", e.toString()));
      failing = true;
    }
  }

  /**
   * One renewal: a merge patch of renewTime (and this run's acquireTime), or the Lease created when
   * it is not there.
   */
  void renew() {
    Instant now = clock.instant();
    String time = MICRO_TIME.format(now);
    var leases = client.resources(Lease.class).inNamespace(namespace).withName(leaseName(node));
    try {
      leases.patch(
          PatchContext.of(PatchType.JSON_MERGE),
          "{\"spec\":{\"holderIdentity\":\""
              + node
              + "\",\"leaseDurationSeconds\":"
              + LEASE_DURATION_SECONDS
              + ",\"acquireTime\":\""
              + MICRO_TIME.format(startedAt)
              + "\",\"renewTime\":\""
              + time
              + "\"}}");
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) throw e;
      Lease lease = new Lease();
      lease.setMetadata(
          new ObjectMetaBuilder()
              .withName(leaseName(node))
              .withNamespace(namespace)
              .withLabels(LABELS)
              .build());
      lease.setSpec(
          new LeaseSpecBuilder()
              .withHolderIdentity(node)
              .withLeaseDurationSeconds(LEASE_DURATION_SECONDS)
              .withAcquireTime(startedAt.atZone(ZoneOffset.UTC))
              .withRenewTime(now.atZone(ZoneOffset.UTC))
              .build());
      client.resources(Lease.class).inNamespace(namespace).resource(lease).create();
    }
    lastRenewed = now;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
