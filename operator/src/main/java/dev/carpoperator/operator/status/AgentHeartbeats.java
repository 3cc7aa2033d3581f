package dev.carpoperator.operator.status;

import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * When each node's agent last renewed its heartbeat Lease ({@code carp-agent-<node>} in the agents'
 * namespace, every 10 s). An agent that renews its Lease no longer rewrites its status entries only
 * to show it is alive, so the time an agent was last heard from is the later of its entry's own
 * time and its Lease's renewal. Agents of older versions have no Lease: their entries' {@code
 * lastReport} alone counts, as before.
 */
public record AgentHeartbeats(Map<String, Instant> lastRenewal) {
  /** No Leases known (tests, or the Lease informer not started). */
  public static final AgentHeartbeats NONE = new AgentHeartbeats(Map.of());

  /** The labels the agents put on their Leases, as a selector. */
  public static final String LABEL_SELECTOR =
      "app.kubernetes.io/name=carp-agent,app.kubernetes.io/component=heartbeat";

  static final String LEASE_PREFIX = "carp-agent-";

  public AgentHeartbeats {
    lastRenewal = Map.copyOf(lastRenewal);
  }

  /** From the agents' Leases; a Lease without a readable renewTime is left out. */
  public static AgentHeartbeats of(Stream<Lease> leases) {
    Map<String, Instant> out = new HashMap<>();
    leases.forEach(
        l -> {
          String node = nodeOf(l);
          Instant renewed =
              l.getSpec() == null || l.getSpec().getRenewTime() == null
                  ? null
                  : l.getSpec().getRenewTime().toInstant();
          if (node != null && renewed != null) out.merge(node, renewed, AgentHeartbeats::later);
        });
    return new AgentHeartbeats(out);
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
   * ({@code lastReport}, else {@code since}) and its node's Lease renewal; null if neither is
   * known.
   */
  public Instant lastHeard(NodeVhidStatus entry) {
    Instant own = parse(entry.getLastReport() != null ? entry.getLastReport() : entry.getSince());
    return later(own, lastRenewal.get(entry.getName()));
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
