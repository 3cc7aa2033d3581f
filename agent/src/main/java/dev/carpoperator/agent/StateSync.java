package dev.carpoperator.agent;

import dev.carpoperator.agent.config.SyncConfig;
import dev.carpoperator.agent.config.SyncSettings;
import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.engine.SyncEngine;
import dev.carpoperator.agent.linux.conntrack.NetfilterConntrack;
import dev.carpoperator.agent.net.PcapFrameIo;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.sync.SyncEnvelope;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds and starts the state sync from its settings, for both the standalone and the Kubernetes
 * mode.
 */
final class StateSync {
  /**
   * 8 MiB of ring: about 5 000 full-size sync packets of headroom while the receive thread is busy.
   */
  static final int SYNC_CAPTURE_BUFFER = 8 << 20;

  private StateSync() {}

  /**
   * Starts the sync described by the standalone {@code sync:} section; CARP is demoted until the
   * bulk update is in.
   */
  static SyncEngine start(
      SyncConfig config,
      Path baseDir,
      CarpEngine engine,
      PrometheusRegistry registry,
      boolean demoteWhilePending)
      throws IOException {
    byte[] key = null;
    if (config.authenticated()) {
      Path file = baseDir == null ? Path.of(config.keyFile()) : baseDir.resolve(config.keyFile());
      key = SyncEnvelope.trimKey(Files.readAllBytes(file));
    }
    return start(SyncSettings.of(config, key), engine, registry, demoteWhilePending);
  }

  /**
   * Starts a sync; with {@code demoteWhilePending} CARP stays demoted by 32 until the bulk update
   * is in.
   */
  static SyncEngine start(
      SyncEngine.Settings settings,
      CarpEngine engine,
      PrometheusRegistry registry,
      boolean demoteWhilePending)
      throws IOException {
    NetfilterConntrack kernel = NetfilterConntrack.open();
    SyncEngine sync;
    try {
      sync =
          new SyncEngine(
              settings,
              kernel,
              ifName ->
                  PcapFrameIo.builder(ifName)
                      .filter("ip proto " + Pfsync.IPPROTO_PFSYNC)
                      .snaplen(captureLength(ifName))
                      .bufferBytes(SYNC_CAPTURE_BUFFER)
                      .open(),
              demoteWhilePending ? engine::setSyncDemotion : count -> {});
    } catch (IOException | RuntimeException e) {
      kernel.close();
      throw e;
    }
    sync.registerMetrics(registry);
    sync.start();
    sync.followCarp(engine); // a node taking over relaxes the windows of its own connections
    return sync;
  }

  /**
   * pfsync packets never exceed the link MTU, so the snaplen is the MTU plus Ethernet and VLAN
   * headers: a 64 KiB snaplen left the capture ring 32 slots and lost a third of a burst
   * (docs/benchmarks.md, "State sync").
   */
  static int captureLength(String ifName) {
    try {
      NetworkInterface nic = NetworkInterface.getByName(ifName);
      int mtu = nic == null || nic.getMTU() <= 0 ? 1500 : nic.getMTU();
      return mtu + 14 + 4;
    } catch (SocketException e) {
      return 1500 + 14 + 4;
    }
  }
}
