package dev.carpoperator.agent.carp;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One counter per {@link RejectReason}, plus accepted packets. Lock-free so the receive thread can
 * count while a metrics exporter reads.
 */
public final class RejectionCounters {
  private final AtomicLongArray rejected = new AtomicLongArray(RejectReason.values().length);
  private final AtomicLongArray accepted = new AtomicLongArray(1);

  void reject(RejectReason reason) {
    rejected.incrementAndGet(reason.ordinal());
  }

  void accept() {
    accepted.incrementAndGet(0);
  }

  public long rejected(RejectReason reason) {
    return rejected.get(reason.ordinal());
  }

  public long accepted() {
    return accepted.get(0);
  }

  /** A consistent-enough copy for export (each counter read atomically, not the set as a whole). */
  public Map<RejectReason, Long> snapshot() {
    Map<RejectReason, Long> m = new EnumMap<>(RejectReason.class);
    for (RejectReason r : RejectReason.values()) {
      m.put(r, rejected(r));
    }
    return Collections.unmodifiableMap(m);
  }
}
