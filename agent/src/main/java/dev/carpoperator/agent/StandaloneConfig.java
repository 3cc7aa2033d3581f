package dev.carpoperator.agent;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.config.AgentConfig;
import dev.carpoperator.agent.config.CarpAddress;
import dev.carpoperator.agent.config.ConfigException;
import dev.carpoperator.agent.config.ConfigLoader;
import dev.carpoperator.agent.config.VirtualAddressConfig;
import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.engine.VhostSpec;
import dev.carpoperator.agent.health.AddressChecks;
import dev.carpoperator.agent.health.HealthChecks;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The standalone YAML turned into engine specs, and reloaded when the file changes. */
final class StandaloneConfig {
  private static final Logger log = LoggerFactory.getLogger(StandaloneConfig.class);

  private StandaloneConfig() {}

  static List<VhostSpec> vhostSpecs(AgentConfig config, Path baseDir) throws IOException {
    List<VhostSpec> specs = new ArrayList<>();
    for (CarpAddress address : carpAddresses(config, baseDir)) specs.addAll(address.vhostSpecs());
    return specs;
  }

  /** The virtual addresses of the file, as the agent runs them (the same model as Kubernetes'). */
  static List<CarpAddress> carpAddresses(AgentConfig config, Path baseDir) throws IOException {
    List<CarpAddress> addresses = new ArrayList<>();
    for (VirtualAddressConfig va : config.virtualAddresses())
      addresses.add(va.toCarpAddress(ConfigLoader.password(va, baseDir)));
    return addresses;
  }

  /** The health checks of the file's addresses (those without checks are left out). */
  static List<AddressChecks> addressChecks(AgentConfig config) {
    return config.virtualAddresses().stream()
        .filter(va -> !va.healthChecks().isEmpty())
        .map(VirtualAddressConfig::addressChecks)
        .toList();
  }

  /**
   * Watches the config file and applies a changed, valid file to the running engine: unchanged
   * vhids keep running untouched. An invalid file is refused whole with the same messages as at
   * start, and the running config stays.
   */
  static Thread watch(Path file, CarpEngine engine, HealthChecks health) throws IOException {
    Path abs = file.toAbsolutePath();
    WatchService watcher = FileSystems.getDefault().newWatchService();
    abs.getParent()
        .register(
            watcher, StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_CREATE);
    Thread t =
        new Thread(
            () -> {
              try {
                while (true) {
                  WatchKey key = watcher.take();
                  boolean ours =
                      key.pollEvents().stream()
                          .anyMatch(e -> abs.getFileName().equals(e.context()));
                  key.reset();
                  if (!ours) continue;
                  TimeUnit.MILLISECONDS.sleep(300); // editors write in several steps
                  while (watcher.poll() != null) {
                    /* drain the burst */
                  }
                  reload(abs, engine, health);
                }
              } catch (InterruptedException | ClosedWatchServiceException e) {
                // agent stopping
              }
            },
            "carp-config-watch");
    t.setDaemon(true);
    t.start();
    return t;
  }

  static void reload(Path file, CarpEngine engine, HealthChecks health) {
    try {
      AgentConfig next = ConfigLoader.load(file);
      engine.reconfigure(next.preempt(), vhostSpecs(next, file.getParent()));
      engine.setMaintenanceDemotion(next.demotion().maintenance());
      health.apply(addressChecks(next));
    } catch (ConfigException e) {
      log.error(
          "configuration change refused, still running the previous one: {}",
          e.getMessage(),
          kv("event", "reconfigure-refused"),
          kv("file", file.toString()));
    } catch (IOException | RuntimeException e) {
      log.error(
          "configuration change not applied: {}",
          e.getMessage(),
          kv("event", "reconfigure-refused"),
          kv("file", file.toString()));
    }
  }
}
