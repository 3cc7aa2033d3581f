package dev.carpoperator.agent.sync;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the sync did, for metrics and tests: written by the sync thread, read by the metrics scrape.
 * States are counted per message (an INS, UPD, UPD_C or DEL_C is one state message).
 */
public final class SyncCounters {
  public final AtomicLong packetsSent = new AtomicLong();
  public final AtomicLong packetsReceived = new AtomicLong();
  public final AtomicLong statesSent = new AtomicLong();
  public final AtomicLong statesReceived = new AtomicLong();
  public final AtomicLong statesApplied = new AtomicLong();
  public final AtomicLong updatesRequested = new AtomicLong();
  public final AtomicLong staleUpdates = new AtomicLong();
  public final AtomicLong bulkStatesSent = new AtomicLong();
  public final AtomicLong bulkStatesReceived = new AtomicLong();
  public final AtomicLong bulksServed = new AtomicLong();

  /** The node's own TCP entries set BE_LIBERAL when it became master ({@link TakeoverWindows}). */
  public final AtomicLong takeoverLoosened = new AtomicLong();

  /**
   * A peer's untranslated state removed for a translated one with the same reply tuple ({@code
   * StateImport}: a Service's second leg on the pod's node).
   */
  public final AtomicLong replyClashesResolved = new AtomicLong();

  private final Map<String, AtomicLong> packetsRejected = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> statesRejected = new ConcurrentHashMap<>();

  public void packetRejected(String reason) {
    packetsRejected.computeIfAbsent(reason, r -> new AtomicLong()).incrementAndGet();
  }

  public void stateRejected(String reason) {
    statesRejected.computeIfAbsent(reason, r -> new AtomicLong()).incrementAndGet();
  }

  /** Rejected packets by reason (a snapshot). */
  public Map<String, Long> packetsRejected() {
    return snapshot(packetsRejected);
  }

  /** Rejected states by reason (a snapshot). */
  public Map<String, Long> statesRejected() {
    return snapshot(statesRejected);
  }

  public long packetsRejected(String reason) {
    AtomicLong v = packetsRejected.get(reason);
    return v == null ? 0 : v.get();
  }

  public long statesRejected(String reason) {
    AtomicLong v = statesRejected.get(reason);
    return v == null ? 0 : v.get();
  }

  private static Map<String, Long> snapshot(Map<String, AtomicLong> m) {
    Map<String, Long> out = new java.util.TreeMap<>();
    m.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }
}
