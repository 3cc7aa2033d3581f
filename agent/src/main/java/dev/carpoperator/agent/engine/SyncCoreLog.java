package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.sync.BulkState;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.SyncCore;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the sync core reports, as {@link SyncEngine}'s log lines (under its logger): bulk steps
 * ({@code sync-bulk}), serving a peer's bulk ({@code sync-bulk-send}), and kernel refusals and
 * dropped packets as rate-limited warnings. Runs on the sync loop thread.
 */
final class SyncCoreLog implements SyncCore.Observer {
  private static final Logger LOG = LoggerFactory.getLogger(SyncEngine.class);

  private final Consumer<BulkState> bulkStateChanged;
  private final BiConsumer<String, String> warn;

  /**
   * @param bulkStateChanged told first of every bulk step (the engine's demotion and listeners)
   * @param warn the engine's rate-limited warning: (reason, message)
   */
  SyncCoreLog(Consumer<BulkState> bulkStateChanged, BiConsumer<String, String> warn) {
    this.bulkStateChanged = bulkStateChanged;
    this.warn = warn;
  }

  @Override
  public void bulkStateChanged(BulkState from, BulkState to, String detail) {
    bulkStateChanged.accept(to);
    if (to == BulkState.TIMED_OUT) {
      LOG.warn(
          "bulk update gave up: {}",
          detail,
          kv("event", "sync-bulk"),
          kv("from", from.name()),
          kv("to", to.name()));
    } else {
      LOG.info(
          "bulk update {}: {}",
          to.name().toLowerCase(),
          detail,
          kv("event", "sync-bulk"),
          kv("from", from.name()),
          kv("to", to.name()));
    }
  }

  @Override
  public void kernelWriteFailed(String what, ConntrackEntry entry, ConntrackException e) {
    warn.accept(
        "kernel_" + what,
        "cannot "
            + what
            + " conntrack entry "
            + (entry == null ? "" : entry + " ")
            + ": "
            + e.getMessage());
  }

  @Override
  public void packetRejected(String reason, String detail) {
    warn.accept(
        reason,
        reason.equals("freebsd_version")
            ? "pfsync packet of version 5 (FreeBSD) dropped: only OpenBSD's version 6 is understood ("
                + detail
                + ")"
            : "sync packet dropped: " + detail);
  }

  @Override
  public void bulkServed(int states) {
    LOG.info("sending our table to a peer", kv("event", "sync-bulk-send"), kv("states", states));
  }
}
