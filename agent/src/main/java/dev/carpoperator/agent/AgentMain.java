package dev.carpoperator.agent;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import dev.carpoperator.agent.config.AgentConfig;
import dev.carpoperator.agent.config.ConfigException;
import dev.carpoperator.agent.config.ConfigLoader;
import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.engine.SyncEngine;
import dev.carpoperator.agent.engine.VhostSpec;
import dev.carpoperator.agent.health.HealthChecks;
import dev.carpoperator.agent.health.NetworkProbe;
import dev.carpoperator.agent.net.AddressManager;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.PcapFrameIo;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code carp-agent --config FILE.yaml}: runs the agent standalone (outside Kubernetes) from a YAML
 * file.
 */
public final class AgentMain {
  private AgentMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("manifest")) { // prints files; runs nothing
      System.exit(ControlPlaneManifest.run(List.of(args).subList(1, args.length)));
      return;
    }
    Fatal.installUncaughtHandler(); // an Error that ends any thread ends the agent (Fatal)
    Path configFile = null;
    String cluster = null;
    Path runtimeDir = null;
    boolean kubernetes = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config", "-c" -> configFile = i + 1 < args.length ? Path.of(args[++i]) : null;
        case "--kubernetes" -> kubernetes = true;
        case "--cluster" -> cluster = i + 1 < args.length ? args[++i] : null;
        case "--runtime-dir" -> runtimeDir = i + 1 < args.length ? Path.of(args[++i]) : null;
        case "--help", "-h" -> {
          usage();
          return;
        }
        default -> {
          System.err.println("carp-agent: unknown argument '" + args[i] + "'");
          usage();
          System.exit(2);
        }
      }
    }
    if (kubernetes) {
      KubernetesMode.run(cluster, runtimeDir);
      return;
    }
    if (configFile == null) {
      usage();
      System.exit(2);
    }
    if (!Files.isReadable(configFile)) {
      System.err.println("carp-agent: cannot read " + configFile);
      System.exit(2);
    }

    AgentConfig config;
    try {
      config = ConfigLoader.load(configFile);
    } catch (ConfigException e) {
      System.err.println("carp-agent: " + e.getMessage());
      System.exit(2);
      return;
    }
    if ("text".equals(config.logFormat())) useTextLogs();
    Logger log = LoggerFactory.getLogger(AgentMain.class);

    Path baseDir = configFile.toAbsolutePath().getParent();
    List<VhostSpec> specs = StandaloneConfig.vhostSpecs(config, baseDir);
    AddressRecord record;
    try {
      record =
          AddressRecord.inDirectory(
              runtimeDir != null ? runtimeDir : Path.of(config.runtimeDirectory()));
    } catch (IOException e) {
      log.error(
          "cannot read the record of the addresses this agent added: {} (runtimeDirectory)",
          e.toString());
      System.exit(1);
      return;
    }
    AddressManager addressManager = new AddressManager(); // one long-lived `ip -batch` process
    CarpEngine engine =
        new CarpEngine(
            config.node(),
            config.preempt(),
            config.demotion().onInterfaceDown(),
            config.demotion().maintenance(),
            specs,
            addressManager,
            ifName -> PcapFrameIo.builder(ifName).open(),
            System::nanoTime);
    engine.recordAddressesIn(record); // removes only the addresses it added itself
    HealthChecks health =
        new HealthChecks(
            new NetworkProbe(),
            (address, weight, failing) -> {
              for (int vhid : address.vhids()) engine.setCheckDemotion(vhid, weight);
            },
            engine.metrics().healthObserver());
    engine.demoteUntilReady(config.demotion().untilReady());
    var hooks =
        dev.carpoperator.agent.actions.StandaloneHooks.install(
            config, engine, addressManager); // actions, webhook
    SyncEngine sync = null;
    if (config.sync() != null) {
      try {
        sync =
            StateSync.start(
                config.sync(),
                baseDir,
                engine,
                engine.metrics().registry(),
                config.demotion().whileSyncPending()); // demotes CARP until the bulk is in
      } catch (IOException | RuntimeException e) {
        log.error("cannot start the state sync: {}", e.getMessage());
        System.exit(1);
      }
    }
    SyncEngine runningSync = sync;
    AtomicBoolean started = new AtomicBoolean();
    HTTPServer metricsServer =
        config.metricsPort() == null
            ? null
            : engine
                .metrics()
                .serve(
                    config.metricsAddress(),
                    config.metricsPort(),
                    () ->
                        started.get()
                            && (runningSync == null || !runningSync.bulkState().pending()));

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  hooks.beforeEngineClose(); // onBackup actions (e.g. bridge down) before the
                  // bow-out
                  health.close();
                  engine.close(); // bow out so a backup takes over at once
                  if (runningSync != null) runningSync.close();
                  hooks.close();
                  addressManager.close();
                  if (metricsServer != null) metricsServer.close();
                  stopped.countDown();
                },
                "carp-agent-stop"));
    health.apply(StandaloneConfig.addressChecks(config));
    try {
      engine.start();
      started.set(true);
    } catch (IOException e) {
      log.error("cannot start: {}", e.getMessage());
      System.exit(1);
    }
    StandaloneConfig.watch(configFile, engine, health); // edits of the file are applied live
    stopped.await();
  }

  private static void usage() {
    System.err.println(
        "usage: carp-agent --config FILE.yaml          (standalone, see docs/standalone.md)\n"
            + "       carp-agent --kubernetes --cluster NAME  (in Kubernetes; NODE_NAME and POD_NAMESPACE from the environment)\n"
            + "       carp-agent manifest pod|config ...      (the kube-apiserver's address as a static pod, docs/control-plane.md)\n"
            + "  --runtime-dir DIR  where the agent records the addresses it added (default: runtimeDirectory of the\n"
            + "                     config file, or CARP_RUNTIME_DIR in Kubernetes, else /run/carp-operator)");
  }

  static void useTextLogs() {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ctx.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(ctx);
    try {
      configurator.doConfigure(AgentMain.class.getResource("/logback-text.xml"));
    } catch (Exception e) {
      System.err.println("carp-agent: cannot switch to text logs: " + e);
    }
  }
}
