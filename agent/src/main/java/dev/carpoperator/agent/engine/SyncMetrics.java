package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.sync.BulkState;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.agent.sync.SyncCounters;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The state sync's metrics (states sent, received, applied, rejected; bulk progress; the loop's
 * queue; kernel event overruns), read by callbacks at scrape time. Registered by {@link
 * SyncEngine#registerMetrics}.
 */
final class SyncMetrics {
  private SyncMetrics() {}

  static void register(
      PrometheusRegistry registry,
      SyncCounters counters,
      Supplier<BulkState> bulkState,
      IntSupplier tableSize,
      FrameIo io,
      SyncInbox inbox,
      ConntrackKernel kernel) {
    CounterWithCallback.builder()
        .name("carp_sync_states_sent")
        .help("State messages sent (INS, UPD, UPD_C, DEL_C)")
        .callback(cb -> cb.call(counters.statesSent.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_states_received")
        .help("State messages received")
        .callback(cb -> cb.call(counters.statesReceived.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_states_applied")
        .help("Received states written to the kernel's conntrack table")
        .callback(cb -> cb.call(counters.statesApplied.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_states_rejected")
        .help("Received states not applied, by reason")
        .labelNames("reason")
        .callback(cb -> counters.statesRejected().forEach((r, n) -> cb.call(n, r)))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_packets_sent")
        .help("Sync packets sent")
        .callback(cb -> cb.call(counters.packetsSent.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_packets_received")
        .help("Sync packets accepted")
        .callback(cb -> cb.call(counters.packetsReceived.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_packets_rejected")
        .help(
            "Sync packets dropped, by reason (bad_tag = wrong key or forged, replay, unauthenticated, freebsd_version, ...)")
        .labelNames("reason")
        .callback(cb -> counters.packetsRejected().forEach((r, n) -> cb.call(n, r)))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_takeover_loosened")
        .help(
            "The node's own TCP connections whose window checks were relaxed (BE_LIBERAL) when it became master, because its windows of them may be stale")
        .callback(cb -> cb.call(counters.takeoverLoosened.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_reply_clashes_resolved")
        .help(
            "Peers' untranslated states replaced by a translated state with the same reply tuple (a Service's connection seen on the pod's node and on the master); the opposite case counts in carp_sync_states_rejected{reason=\"reply_clash\"}")
        .callback(cb -> cb.call(counters.replyClashesResolved.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_bulk_states_received")
        .help("States received in bulk updates")
        .callback(cb -> cb.call(counters.bulkStatesReceived.get()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_bulk_states_sent")
        .help("States sent in bulk updates to peers")
        .callback(cb -> cb.call(counters.bulkStatesSent.get()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_bulk_state")
        .help(
            "This node's start-up bulk update: 1 for the current state (idle, requesting, receiving, done, timed_out)")
        .labelNames("state")
        .callback(
            cb -> {
              for (BulkState s : BulkState.values())
                cb.call(s == bulkState.get() ? 1 : 0, s.name().toLowerCase());
            })
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_capture_drops")
        .help(
            "Sync packets the kernel dropped before the agent read them (capture buffer full): lost states")
        .callback(
            cb -> {
              long d = io.captureDrops();
              if (d >= 0) cb.call(d);
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_table_states")
        .help("States the sync tracks (local and from peers)")
        .callback(cb -> cb.call(tableSize.getAsInt()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_queue_dropped")
        .help(
            "Conntrack events and sync packets dropped because the sync loop's queue was full (overload); a resync follows")
        .labelNames("input")
        .callback(
            cb -> {
              for (SyncInbox.Input i : SyncInbox.Input.values())
                cb.call(inbox.dropped(i), i.label());
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_queue_length")
        .help("Conntrack events and sync packets waiting for the sync loop")
        .callback(cb -> cb.call(inbox.pending()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("carp_sync_queue_limit")
        .help("Most conntrack events and sync packets that may wait for the sync loop")
        .callback(cb -> cb.call(inbox.limit()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_event_overruns")
        .help(
            "Times the kernel dropped conntrack events because the agent did not read them fast enough (netlink overrun)")
        .callback(cb -> cb.call(kernel.stats().overruns()))
        .register(registry);
    CounterWithCallback.builder()
        .name("carp_sync_resyncs")
        .help(
            "Full dumps of the conntrack table after events were lost (netlink overrun or a full queue)")
        .callback(cb -> cb.call(inbox.resyncs()))
        .register(registry);
  }
}
