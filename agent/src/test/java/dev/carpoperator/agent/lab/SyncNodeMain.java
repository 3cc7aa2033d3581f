package dev.carpoperator.agent.lab;

import dev.carpoperator.agent.engine.SyncEngine;
import dev.carpoperator.agent.linux.conntrack.NetfilterConntrack;
import dev.carpoperator.agent.net.PcapFrameIo;
import dev.carpoperator.agent.pfsync.Pfsync;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The state sync alone, as the agent runs it ({@code StateSync}: authenticated mode, multicast, the
 * same {@link SyncEngine} and {@link NetfilterConntrack}) except for the capture's snaplen, which
 * is an argument: for {@link SyncBenchRun}'s {@code carp.bench.receiver=snaplen:N} comparison with
 * the agent's 65535. No CARP. Args: interface keyFile maxDelayMillis snaplen metricsPort.
 */
public final class SyncNodeMain {
  public static void main(String[] args) throws Exception {
    SyncBench.refuseRootNamespace();
    String ifName = args[0];
    byte[] raw = Files.readAllBytes(Path.of(args[1]));
    int end = raw.length;
    while (end > 0 && Character.isWhitespace(raw[end - 1])) end--;
    byte[] key = Arrays.copyOf(raw, end);
    int maxDelay = Integer.parseInt(args[2]);
    int snaplen = Integer.parseInt(args[3]);
    var settings =
        new SyncEngine.Settings(
            ifName, List.of(), key, false, SyncEngine.randomHostId(), maxDelay, 30, 0);
    PrometheusRegistry registry = new PrometheusRegistry();
    SyncEngine sync =
        new SyncEngine(
            settings,
            NetfilterConntrack.open(),
            i ->
                PcapFrameIo.builder(i)
                    .filter("ip proto " + Pfsync.IPPROTO_PFSYNC)
                    .snaplen(snaplen)
                    .open(),
            count -> {});
    sync.registerMetrics(registry);
    sync.start();
    HTTPServer server =
        HTTPServer.builder().port(Integer.parseInt(args[4])).registry(registry).buildAndStart();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  sync.close();
                  server.close();
                  stopped.countDown();
                }));
    stopped.await();
  }
}
