package dev.carpoperator.agent;

import dev.carpoperator.agent.config.SyncConfig;
import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.engine.SyncEngine;
import dev.carpoperator.agent.linux.conntrack.NetfilterConntrack;
import dev.carpoperator.agent.net.PcapFrameIo;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.sync.SyncEnvelope;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Builds and starts the state sync from its settings, for both the standalone and the Kubernetes mode. */
final class StateSync {
  private StateSync() {}

  /** Starts the sync described by the standalone {@code sync:} section; CARP is demoted until the bulk update is in. */
  static SyncEngine start(SyncConfig config, Path baseDir, CarpEngine engine, PrometheusRegistry registry,
      boolean demoteWhilePending) throws IOException {
    byte[] key = null;
    if (config.authenticated()) {
      Path file = baseDir == null ? Path.of(config.keyFile()) : baseDir.resolve(config.keyFile());
      key = SyncEnvelope.trimKey(Files.readAllBytes(file));
    }
    List<Inet4Address> peers = config.peers().stream().map(StateSync::ipv4).toList();
    int hostId = config.hostId() == null ? SyncEngine.randomHostId() : (int) (long) config.hostId();
    var settings = new SyncEngine.Settings(config.interfaceName(), peers, key, config.encrypt(), hostId,
        config.maxDelayMillis(), config.bulkUpdateTimeoutSeconds());
    return start(settings, engine, registry, demoteWhilePending);
  }

  /** Starts a sync; with {@code demoteWhilePending} CARP stays demoted by 32 until the bulk update is in. */
  static SyncEngine start(SyncEngine.Settings settings, CarpEngine engine, PrometheusRegistry registry,
      boolean demoteWhilePending) throws IOException {
    NetfilterConntrack kernel = NetfilterConntrack.open();
    SyncEngine sync;
    try {
      sync = new SyncEngine(settings, kernel,
          ifName -> PcapFrameIo.builder(ifName).filter("ip proto " + Pfsync.IPPROTO_PFSYNC).snaplen(65535).open(),
          demoteWhilePending ? engine::setSyncDemotion : count -> {});
    } catch (IOException | RuntimeException e) {
      kernel.close();
      throw e;
    }
    sync.registerMetrics(registry);
    sync.start();
    return sync;
  }

  private static Inet4Address ipv4(String literal) {
    try {
      return (Inet4Address) InetAddress.getByName(literal); // validated as an IPv4 literal by ConfigLoader
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
