package dev.carpoperator.agent.health;

import static net.logstash.logback.argument.StructuredArguments.kv;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the health checks of every address, each in its own virtual thread (a probe blocks on the
 * network for up to its timeout; nothing else waits for it), and tells the {@link Sink} the
 * demotion of an address whenever the set of its failing checks changes. Reconfiguring keeps the
 * checks (and their verdicts) of addresses whose checks did not change.
 */
public final class HealthChecks implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HealthChecks.class);

  /** Where verdicts go: the engine's per-vhid demotion, the status report. */
  public interface Sink {
    /**
     * The checks failing for {@code address} changed.
     *
     * @param weight sum of the failing checks' weights (0: all pass)
     * @param failing "name: why" of each failing check
     */
    void changed(AddressChecks address, int weight, List<String> failing);
  }

  /** Per run, for metrics. */
  public interface Observer {
    void ran(String address, String check, String error, boolean passing);
  }

  private final Probe probe;
  private final Sink sink;
  private final Observer observer;
  private final Map<String, Running> running = new LinkedHashMap<>();
  private boolean closed;

  public HealthChecks(Probe probe, Sink sink, Observer observer) {
    this.probe = Objects.requireNonNull(probe);
    this.sink = Objects.requireNonNull(sink);
    this.observer = Objects.requireNonNull(observer);
  }

  /** The addresses and their checks from now on (addresses without checks may be left out). */
  public synchronized void apply(List<AddressChecks> wanted) {
    if (closed) return;
    Map<String, AddressChecks> next = new HashMap<>();
    for (AddressChecks a : wanted) if (!a.checks().isEmpty()) next.put(a.key(), a);
    for (var it = running.entrySet().iterator(); it.hasNext(); ) {
      Running r = it.next().getValue();
      if (r.address.equals(next.get(r.address.key()))) continue;
      r.stop();
      it.remove();
      // a vhid that stays may carry a demotion that no check backs any more
      if (r.weight > 0) sink.changed(r.address, 0, List.of());
      log.info("health checks stopped", kv("event", "health-stop"), kv("address", r.address.key()));
    }
    for (AddressChecks a : next.values()) {
      if (running.containsKey(a.key())) continue;
      Running r = new Running(a);
      running.put(a.key(), r);
      r.start();
      log.info(
          "health checks started",
          kv("event", "health-start"),
          kv("address", a.key()),
          kv("checks", a.checks().stream().map(c -> c.name() + " " + c.target()).toList()));
    }
  }

  /** "name: why" of the failing checks of an address (empty when all pass or it has none). */
  public synchronized List<String> failing(String address) {
    Running r = running.get(address);
    return r == null ? List.of() : r.failing();
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (Running r : running.values()) r.stop();
    running.clear();
  }

  private void ran(Running r, CheckState state, String error) {
    synchronized (this) {
      if (running.get(r.address.key()) != r) return; // replaced meanwhile
      boolean changed = state.record(error);
      observer.ran(r.address.key(), state.spec().name(), error, state.passing());
      if (!changed) return;
      CheckSpec c = state.spec();
      if (state.passing())
        log.info(
            "health check passes",
            kv("event", "health-pass"),
            kv("address", r.address.key()),
            kv("check", c.name()));
      else
        log.warn(
            "health check fails: {}",
            state.lastError(),
            kv("event", "health-fail"),
            kv("address", r.address.key()),
            kv("check", c.name()),
            kv("target", c.target().toString()),
            kv("weight", c.weight()));
      int weight = r.weight();
      List<String> failing = r.failing();
      if (weight == r.weight && failing.equals(r.reported)) return;
      r.weight = weight;
      r.reported = failing;
      sink.changed(r.address, weight, failing);
    }
  }

  private final class Running {
    final AddressChecks address;
    final List<CheckState> states = new ArrayList<>();
    final List<Thread> threads = new ArrayList<>();
    int weight;
    List<String> reported = List.of();

    Running(AddressChecks address) {
      this.address = address;
      for (CheckSpec c : address.checks()) states.add(new CheckState(c));
    }

    void start() {
      for (CheckState s : states)
        threads.add(
            Thread.ofVirtual()
                .name("health-" + address.key() + "-" + s.spec().name())
                .start(() -> loop(s)));
    }

    private void loop(CheckState s) {
      while (!Thread.currentThread().isInterrupted()) {
        String error;
        try {
          error = probe.run(s.spec());
        } catch (RuntimeException e) { // a probe must not end its check
          error = e.toString();
        }
        if (Thread.currentThread().isInterrupted()) return;
        ran(this, s, error);
        try {
          Thread.sleep(s.spec().periodMillis());
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    void stop() {
      for (Thread t : threads) t.interrupt();
    }

    int weight() {
      int w = 0;
      for (CheckState s : states) if (!s.passing()) w += s.spec().weight();
      return Math.min(w, 255);
    }

    List<String> failing() {
      List<String> f = new ArrayList<>();
      for (CheckState s : states) if (!s.passing()) f.add(s.spec().name() + ": " + s.lastError());
      return f;
    }
  }
}
