package dev.carpoperator.agent;

import dev.carpoperator.agent.config.AgentConfig;
import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.kube.KubeAgent;
import dev.carpoperator.agent.kube.SubnetInterfaceFinder;
import dev.carpoperator.agent.net.AddressManager;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.PcapFrameIo;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code carp-agent --kubernetes --cluster NAME}, as the DaemonSet runs it: the node name and
 * namespace come from the downward API (NODE_NAME, POD_NAMESPACE), the API server from the
 * in-cluster config or KUBECONFIG.
 */
final class KubernetesMode {
  private KubernetesMode() {}

  static void run(String cluster, Path runtimeDirFlag) throws InterruptedException {
    String node = System.getenv("NODE_NAME");
    if (cluster == null || cluster.isBlank() || node == null || node.isBlank()) {
      System.err.println(
          "carp-agent: --kubernetes needs --cluster NAME and the NODE_NAME environment variable (the DaemonSet sets it from spec.nodeName)");
      System.exit(2);
    }
    if ("text".equals(System.getenv("CARP_LOG_FORMAT"))) AgentMain.useTextLogs();
    String namespace = System.getenv().getOrDefault("POD_NAMESPACE", "carp-agents");
    int metricsPort = Integer.parseInt(System.getenv().getOrDefault("CARP_METRICS_PORT", "9402"));
    // The DaemonSet sets the node's own address (status.hostIP): not the outside NICs, not the
    // virtual addresses.
    String metricsAddress = System.getenv("CARP_METRICS_ADDRESS");
    // The DaemonSet mounts it from the host, so that the record outlives a pod restart (and ends
    // with the boot).
    Path runtimeDir =
        runtimeDirFlag != null
            ? runtimeDirFlag
            : Path.of(
                System.getenv()
                    .getOrDefault("CARP_RUNTIME_DIR", AgentConfig.DEFAULT_RUNTIME_DIRECTORY));
    AddressRecord record;
    try {
      // one record per cluster: two FirewallClusters may select the same node, each with its own
      // agent
      record = AddressRecord.open(runtimeDir.resolve(AddressRecord.FILE_NAME + "-" + cluster));
    } catch (IOException e) {
      System.err.println(
          "carp-agent: cannot read the record of the addresses this agent added in "
              + runtimeDir
              + ": "
              + e);
      System.exit(1);
      return;
    }

    // No client-side request retries: the status reporter retries with its own backoff, and says
    // when the API
    // server is unreachable and when it is back, instead of blocking inside the client.
    KubernetesClient client =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(Config.autoConfigure(null))
                    .withRequestRetryBackoffLimit(0)
                    .build())
            .build();
    AddressManager addressManager = new AddressManager();
    AtomicReference<HTTPServer> metrics = new AtomicReference<>();
    AtomicReference<KubeAgent> self = new AtomicReference<>();
    KubeAgent agent =
        new KubeAgent(
            client,
            node,
            cluster,
            namespace,
            plan -> {
              CarpEngine engine =
                  new CarpEngine(
                      node,
                      plan.preempt(),
                      plan.demoteOnLinkDown(),
                      plan.maintenance(),
                      plan.vhosts(),
                      addressManager,
                      ifName -> PcapFrameIo.builder(ifName).open(),
                      System::nanoTime);
              engine.recordAddressesIn(record);
              try {
                if (metricsPort > 0)
                  metrics.set(
                      engine
                          .metrics()
                          .serve(
                              metricsAddress,
                              metricsPort,
                              () -> self.get() != null && self.get().ready()));
              } catch (IOException e) {
                throw new UncheckedIOException("cannot serve metrics on port " + metricsPort, e);
              }
              return engine;
            },
            new SubnetInterfaceFinder(),
            new dev.carpoperator.agent.actions.SystemActionExecutor(addressManager),
            (settings, engine, demote) ->
                StateSync.start(settings, engine, engine.metrics().registry(), demote));
    // The DaemonSet names the Secrets when the chart limits the agents' Role to them
    // (agent.secretNames).
    agent.readSecretsByName(
        dev.carpoperator.agent.kube.SecretSource.parseNames(System.getenv("CARP_SECRET_NAMES")));
    self.set(agent);

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  agent.close(); // bow out: a rolling update moves the addresses before this node
                  // goes
                  addressManager.close();
                  if (metrics.get() != null) metrics.get().close();
                  client.close();
                  stopped.countDown();
                },
                "carp-agent-stop"));
    agent.start();
    stopped.await();
  }
}
