package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.carp.CarpEffect;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.engine.plumbing.RateLimitedWarnings;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.NodeAddresses;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the CARP engine tells the outside about its vhids: the state metrics, the log lines users
 * and tests read ({@code state-change}, {@code vhid-refused}), and the {@link EngineListener}s
 * (status, actions, notifications). A failing listener is logged and never stops the election.
 */
final class EngineEvents {
  /** Logged as the engine's own lines: they are what users and tests look for. */
  private static final Logger log = LoggerFactory.getLogger(CarpEngine.class);

  private final String node;
  private final AgentMetrics metrics;
  private final List<EngineListener> listeners = new CopyOnWriteArrayList<>();
  private final RateLimitedWarnings rejectionWarnings =
      new RateLimitedWarnings(TimeUnit.SECONDS.toNanos(30), System::nanoTime);

  EngineEvents(String node, AgentMetrics metrics) {
    this.node = node;
    this.metrics = metrics;
  }

  void add(EngineListener listener) {
    listeners.add(listener);
  }

  void remove(EngineListener listener) {
    listeners.remove(listener);
  }

  /** The advertised demotion changed. */
  void demotionChanged(int advertised) {
    for (EngineListener l : listeners) {
      try {
        l.demotionChanged(advertised);
      } catch (RuntimeException e) {
        log.error("demotion listener failed", e);
      }
    }
  }

  /** Once, after the NICs are open and before any vhid starts. */
  void beforeFirstAdvert() {
    for (EngineListener l : listeners) {
      try {
        l.beforeFirstAdvert();
      } catch (RuntimeException e) {
        log.error("start-up listener failed; starting the election anyway", e);
      }
    }
  }

  /** Loop thread. */
  void stateChanged(CarpVhost v, CarpEffect.StateChanged c) {
    metrics.vhidState.labelValues(v.link.name, v.vhidLabel).set(c.to().ordinal());
    metrics
        .transitions
        .labelValues(v.link.name, v.vhidLabel, c.from().name(), c.to().name(), c.reason().code())
        .inc();
    log.info(
        "vhid {} {} -> {} ({})",
        v.vhid(),
        c.from(),
        c.to(),
        c.reason().code(),
        kv("event", "state-change"),
        kv("node", node),
        kv("interface", v.link.name),
        kv("vhid", v.vhid()),
        kv("from", c.from().name()),
        kv("to", c.to().name()),
        kv("reason", c.reason().code()));
    if (listeners.isEmpty()) return;
    var change =
        new EngineListener.StateChange(
            node,
            v.link.name,
            v.vhid(),
            c.from(),
            c.to(),
            c.reason().code(),
            v.spec.advskew(),
            v.sm.demotion(),
            Instant.now());
    for (EngineListener l : listeners) {
      try {
        l.stateChanged(change);
      } catch (RuntimeException e) {
        log.error("state-change listener failed", e); // never lets a listener stop the election
      }
    }
  }

  /** {@link EngineListener#reclaimed}, logged. */
  void reclaimed(CarpVhost v) {
    log.info(
        "vhid {} stays MASTER; another node may have been master meanwhile: announcing the addresses again",
        v.vhid(),
        kv("event", "reclaim"),
        kv("node", node),
        kv("interface", v.link.name),
        kv("vhid", v.vhid()));
    for (EngineListener l : listeners) {
      try {
        l.reclaimed(v.link.name, v.vhid());
      } catch (RuntimeException e) {
        log.error("reclaim listener failed", e); // never lets a listener stop the election
      }
    }
  }

  /**
   * A vhid is not run because its addresses are the node's own ({@link
   * CarpEngine#ADDRESS_IS_NODE_ADDRESS}).
   */
  void refused(VhostSpec spec, List<NodeAddresses.Conflict> conflicts) {
    String what =
        String.join("; ", conflicts.stream().map(NodeAddresses.Conflict::describe).toList());
    String message =
        "vhid "
            + spec.vhid()
            + " on "
            + spec.interfaceName()
            + " is not run: "
            + what
            + ". A virtual address must be an address no node uses as its own: correct the address of the VirtualAddress "
            + "(or the standalone virtualAddresses entry). If an earlier agent version left it behind, remove it with "
            + "'ip addr del' and the vhid starts with the next configuration change or agent restart";
    log.error(
        message,
        kv("event", "vhid-refused"),
        kv("reason", CarpEngine.ADDRESS_IS_NODE_ADDRESS),
        kv("node", node),
        kv("interface", spec.interfaceName()),
        kv("vhid", spec.vhid()));
    for (EngineListener l : listeners) {
      try {
        l.vhidRefused(
            spec.interfaceName(), spec.vhid(), CarpEngine.ADDRESS_IS_NODE_ADDRESS, message);
      } catch (RuntimeException e) {
        log.error("refusal listener failed", e);
      }
    }
  }

  /**
   * A received advert was rejected (receive thread): what a user should check, logged at most every
   * 30 s per interface and reason.
   */
  void advertRejected(CarpLink link, CarpReceivePipeline.Rejected r) {
    RejectReason reason = r.reason();
    if (rejectionWarnings.admit(link.name + "/" + reason) < 0) return;
    log.warn(
        "advert rejected ({}): {}",
        reason.name().toLowerCase(),
        CarpReceivePipeline.hint(reason),
        kv("event", "advert-rejected"),
        kv("interface", link.name),
        kv("reason", reason.name().toLowerCase()),
        kv("source", r.packet().src().getHostAddress()),
        kv("count", link.counters.rejected(reason)));
  }
}
