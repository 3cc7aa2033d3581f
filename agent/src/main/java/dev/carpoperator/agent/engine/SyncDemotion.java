package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.sync.BulkState;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sync's share of CARP demotion: {@link #BULK_DEMOTION} while the bulk update is pending,
 * {@link #LINK_DOWN_DEMOTION} while the sync link is down; and the bulk state that others watch
 * (metrics, the Kubernetes status). Changed on the sync loop thread; read from any.
 */
final class SyncDemotion {
  private static final Logger LOG = LoggerFactory.getLogger(SyncEngine.class);

  /** OpenBSD demotes carp by 32 for the whole bulk update (docs/protocols/pfsync.md §9). */
  static final int BULK_DEMOTION = 32;

  /**
   * OpenBSD's pfsync demotes carp by 1 while its sync interface is down ("pfsync link state down")
   * and asks for a bulk update when it is back: a node that was cut off must not preempt with a
   * table that lacks what was created meanwhile. 1 is enough: a demoted node never preempts a less
   * demoted master.
   */
  static final int LINK_DOWN_DEMOTION = 1;

  private final String interfaceName;
  private final IntConsumer demotion;
  private final List<Consumer<BulkState>> listeners = new CopyOnWriteArrayList<>();
  private volatile BulkState bulkState = BulkState.IDLE;
  private boolean linkDown; // loop thread

  /**
   * @param demotion where the sync's demotion goes (the CARP engine)
   */
  SyncDemotion(String interfaceName, IntConsumer demotion) {
    this.interfaceName = interfaceName;
    this.demotion = demotion;
  }

  /** At start, before anything can make us master: the bulk update is about to be requested. */
  void starting() {
    demotion.accept(BULK_DEMOTION);
  }

  BulkState bulkState() {
    return bulkState;
  }

  void addListener(Consumer<BulkState> listener) {
    listeners.add(listener);
    listener.accept(bulkState);
  }

  /** A step of the bulk update (before {@link SyncCoreLog} logs it). */
  void bulkStateChanged(BulkState to) {
    bulkState = to;
    update();
    for (var l : listeners) l.accept(to);
  }

  /**
   * The sync link's carrier, polled: down demotes; true when it is back, and the caller asks the
   * peers for their table again (demoted by 32 until it is in).
   */
  boolean linkPolled(boolean down) {
    if (down == linkDown) return false;
    linkDown = down;
    if (down) {
      LOG.warn(
          "sync link down: CARP demoted by {} until it is back and the peers' table is in",
          LINK_DOWN_DEMOTION,
          kv("event", "sync-link"),
          kv("interface", interfaceName),
          kv("up", false));
      update();
      return false;
    }
    LOG.info(
        "sync link up: asking the peers for their table",
        kv("event", "sync-link"),
        kv("interface", interfaceName),
        kv("up", true));
    return true;
  }

  private void update() {
    demotion.accept(bulkState.pending() ? BULK_DEMOTION : linkDown ? LINK_DOWN_DEMOTION : 0);
  }
}
