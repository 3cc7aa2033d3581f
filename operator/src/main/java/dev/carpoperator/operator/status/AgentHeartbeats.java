package dev.carpoperator.operator.status;

import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * When each node's agent last renewed its heartbeat Lease ({@code carp-agent-<node>} in the agents'
 * namespace, every 10 s). An agent that renews its Lease no longer rewrites its status entries only
 * to show it is alive, so the time an agent was last heard from is the later of its entry's own
 * time and its Lease's renewal. Agents of older versions have no Lease: their entries' {@code
 * lastReport} alone counts, as before.
 *
 * <p>A Lease's {@code acquireTime} is when the agent renewing it started. A renewal vouches only
 * for the entries that run wrote: an entry from before it was written by an earlier run (the node
 * crashed and came back) and is as old as its own time says, so a stale MASTER entry is superseded
 * and not taken for a second master while the new run has yet to rewrite it.
 */
public record AgentHeartbeats(Map<String, Instant> lastRenewal, Map<String, Instant> runStart) {
  /** No Leases known (tests, or the Lease informer not started). */
  public static final AgentHeartbeats NONE = new AgentHeartbeats(Map.of(), Map.of());

  /** The labels the agents put on their Leases, as a selector. */
  public static final String LABEL_SELECTOR =
      "app.kubernetes.io/name=carp-agent,app.kubernetes.io/component=heartbeat";

  static final String LEASE_PREFIX = "carp-agent-";

  public AgentHeartbeats {
    lastRenewal = Map.copyOf(lastRenewal);
    runStart = Map.copyOf(runStart);
  }

  /** Renewals of Leases without an acquireTime: each vouches for every entry of its node. */
  public AgentHeartbeats(Map<String, Instant> lastRenewal) {
    this(lastRenewal, Map.of());
  }

  /**
   * From the agents' Leases; a Lease without a readable renewTime is left out, one without an
   * acquireTime vouches for every entry of its node.
   */
  public static AgentHeartbeats of(Stream<Lease> leases) {
    Map<String, Instant> renewals = new HashMap<>();
    Map<String, Instant> starts = new HashMap<>();
    leases.forEach(
        l -> {
          String node = nodeOf(l);
          if (node == null || l.getSpec() == null || l.getSpec().getRenewTime() == null) return;
          Instant renewed = l.getSpec().getRenewTime().toInstant();
          Instant acquired =
              l.getSpec().getAcquireTime() == null
                  ? null
                  : l.getSpec().getAcquireTime().toInstant();
          // Two Leases for one node (a holder and a name that disagree): the latest renewal speaks.
          if (renewals.containsKey(node) && !renewed.isAfter(renewals.get(node))) return;
          renewals.put(node, renewed);
          if (acquired == null) starts.remove(node);
          else starts.put(node, acquired);
        });
    return new AgentHeartbeats(renewals, starts);
  }

  /** The node a Lease speaks for: its holder, or its name without the prefix. */
  public static String nodeOf(Lease l) {
    if (l.getSpec() != null && l.getSpec().getHolderIdentity() != null)
      return l.getSpec().getHolderIdentity();
    String name = l.getMetadata() == null ? null : l.getMetadata().getName();
    return name != null && name.startsWith(LEASE_PREFIX)
        ? name.substring(LEASE_PREFIX.length())
        : null;
  }

  /** The last renewal of {@code node}'s Lease, or null. */
  public Instant of(String node) {
    return lastRenewal.get(node);
  }

  /**
   * When the agent that wrote {@code entry} was last heard from: the later of the entry's own time
   * ({@code lastReport}, else {@code since}) and its node's Lease renewal, the renewal counting
   * only when the entry was written in the renewing agent's run; null if neither is known.
   */
  public Instant lastHeard(NodeVhidStatus entry) {
    Instant own = ownTime(entry);
    Instant started = runStart.get(entry.getName());
    boolean earlierRun = started != null && own != null && own.isBefore(started);
    return earlierRun ? own : later(own, lastRenewal.get(entry.getName()));
  }

  /**
   * When {@code node}'s agent was last heard from, given its entries: the latest of their own times
   * and its Lease's renewal, whichever run wrote them (a renewal says the agent runs); null when
   * the node has no entries or none with a known time and no Lease.
   */
  public Instant agentLastHeard(String node, Collection<NodeVhidStatus> entriesOfNode) {
    if (entriesOfNode.isEmpty()) return null;
    Instant own =
        entriesOfNode.stream()
            .map(AgentHeartbeats::ownTime)
            .filter(Objects::nonNull)
            .max(Instant::compareTo)
            .orElse(null);
    return later(own, lastRenewal.get(node));
  }

  static Instant ownTime(NodeVhidStatus entry) {
    return parse(entry.getLastReport() != null ? entry.getLastReport() : entry.getSince());
  }

  static Instant parse(String t) {
    try {
      return t == null ? null : Instant.parse(t);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static Instant later(Instant a, Instant b) {
    if (a == null) return b;
    if (b == null) return a;
    return a.isAfter(b) ? a : b;
  }
}
