package dev.carpoperator.bench.scale;

import dev.carpoperator.agent.AgentMain;
import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.CarpState;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.bench.BenchContext;
import dev.carpoperator.bench.BenchPart;
import dev.carpoperator.bench.footprint.ProcStats;
import dev.carpoperator.bench.report.Machine;
import dev.carpoperator.bench.report.Plots;
import dev.carpoperator.bench.report.Result;
import dev.carpoperator.operator.OperatorMain;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.operator.cluster.AgentDaemonSets;
import dev.carpoperator.testing.kube.AgentPods;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Crds;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * How the operator copes with many addresses: the time from applying N VirtualAddresses (1,000 by
 * default) to the last one Ready, and the operator's API calls per minute once everything is Ready.
 *
 * <p>Everything is real except the kubelet: a control plane (etcd + kube-apiserver, {@link
 * ControlPlane}), the operator in this JVM as its Deployment runs it ({@link OperatorMain}), and
 * real agents ({@link AgentMain} in Kubernetes mode, started from the operator's DaemonSets by
 * {@link AgentPods}) in network namespaces. A vhid is 1–255 per FirewallCluster, so the addresses
 * are spread over ⌈N / {@value #PER_CLUSTER}⌉ FirewallClusters of two nodes each, every cluster on
 * a bridge of its own (the clusters' vhids overlap, as they would on separate segments).
 *
 * <p>The VirtualAddresses leave {@code spec.vhid} out (the operator allocates), name the interface,
 * and prefer node a (advskew 0) over b (100). Ready needs the whole chain: the operator allocates
 * the vhid, both agents see it and run it, one becomes master after the master-down time (3 s at
 * advbase 1), the agents report, the operator aggregates.
 *
 * <p>API calls are counted in the operator's own client (an HTTP interceptor on the fabric8 client
 * the operator is given), by verb and resource; the API server's apiserver_request_total over the
 * same window counts every client (the agents too) for comparison.
 */
public final class ScaleBench implements BenchPart {
  static final int PER_CLUSTER = 250;
  static final String NAMESPACE = "carp-system";

  /** The agents' namespace, as the chart and deploy/rbac/ name it. */
  static final String AGENT_NAMESPACE = "carp-agents";

  static final double READY_TARGET_SECONDS = 60;
  static final int TARGET_ADDRESSES = 1000;

  /**
   * As the agent image and a DaemonSet with the default 192Mi memory limit run the agents (see the
   * footprint part).
   */
  static final List<String> AGENT_JVM_OPTIONS =
      List.of(
          "-XX:-UsePerfData",
          "-XX:MaxRAM=192m",
          "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener");

  /** The DaemonSet's JDK_JAVA_OPTIONS (the operator's choice of compilers), for the report. */
  private String daemonSetJavaOptions = "";

  @Override
  public String name() {
    return "scale";
  }

  @Override
  public String description() {
    return "operator: time for 1,000 VirtualAddresses to become Ready, API calls per minute at steady state";
  }

  @Override
  public void run(BenchContext ctx) throws Exception {
    int count = ctx.intOption("addresses", TARGET_ADDRESSES, 100);
    int steadySeconds = ctx.intOption("steadySeconds", 180, 30);
    int settleSeconds = ctx.intOption("settleSeconds", 30, 10);
    int timeoutSeconds = ctx.intOption("readyTimeoutSeconds", 600, 180);
    int parallel = ctx.intOption("applyThreads", 8, 8);
    int agentSettleSeconds = ctx.intOption("agentSettleSeconds", 15, 5);
    int clusters = (count + PER_CLUSTER - 1) / PER_CLUSTER;
    BenchContext.say(
        name(),
        String.format(
            "%d VirtualAddresses on %d FirewallClusters (%d agents); about %d s: ~40 s set-up, "
                + "the time to Ready (target %.0f s, at most %d s), %d s settle, %d s steady-state window",
            count,
            clusters,
            2 * clusters,
            40 + 60 + settleSeconds + steadySeconds,
            READY_TARGET_SECONDS,
            timeoutSeconds,
            settleSeconds,
            steadySeconds));

    try (Env env = new Env()) {
      env.controlPlane = ControlPlane.start();
      KubernetesClient admin = env.admin = env.controlPlane.adminClient();
      Crds.install(admin);
      for (String ns : List.of(NAMESPACE, AGENT_NAMESPACE))
        admin
            .namespaces()
            .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
            .serverSideApply();
      env.controlPlane.kubectl(
          "apply", "-f", ControlPlaneBinaries.repositoryRoot().resolve("deploy/rbac").toString());

      // the operator's client counts what it sends; the bench's own reads and writes go through
      // admin
      RequestCounter counter = new RequestCounter();
      env.operatorClient =
          new KubernetesClientBuilder()
              .withConfig(env.controlPlane.adminConfig())
              .withHttpClientBuilderConsumer(
                  b -> b.addOrReplaceInterceptor("bench-request-counter", counter))
              .build();
      env.operator =
          OperatorMain.start(
              new OperatorSettings(
                  NAMESPACE,
                  AGENT_NAMESPACE,
                  "carp-operator.dev/bench/carp-agent:local",
                  "IfNotPresent",
                  false,
                  "bench",
                  0,
                  false),
              o -> o.withKubernetesClient(env.operatorClient).withCloseClientOnStop(false));

      env.lab = NetnsLab.create();
      List<String> clusterNames = new ArrayList<>();
      Map<String, List<String>> nodesOf = new LinkedHashMap<>();
      for (int c = 0; c < clusters; c++) {
        String cluster = "bench-c" + c;
        clusterNames.add(cluster);
        String sw = "s" + c;
        env.lab.addSwitch(sw);
        List<String> nodes = List.of("c" + c + "a", "c" + c + "b");
        nodesOf.put(cluster, nodes);
        env.lab.addHostOn(sw, nodes.get(0), "192.0.2.11/24");
        env.lab.addHostOn(sw, nodes.get(1), "192.0.2.12/24");
        for (String node : nodes) {
          admin
              .nodes()
              .resource(
                  new NodeBuilder()
                      .withNewMetadata()
                      .withName(node)
                      .addToLabels(AgentDaemonSets.CLUSTER_LABEL, cluster)
                      .endMetadata()
                      .build())
              .serverSideApply();
        }
        admin
            .resource(
                admin
                    .getKubernetesSerialization()
                    .unmarshal(
                        """
            apiVersion: carp-operator.dev/v1alpha1
            kind: FirewallCluster
            metadata: {name: %s}
            spec:
              nodeSelector: {%s: %s}
            """
                            .formatted(cluster, AgentDaemonSets.CLUSTER_LABEL, cluster),
                        FirewallCluster.class))
            .serverSideApply();
      }

      List<String> agentJvmOptions = new ArrayList<>(AGENT_JVM_OPTIONS);
      String extra = ctx.option("scale.agentJvmOptions", "").trim();
      if (!extra.isEmpty()) agentJvmOptions.addAll(List.of(extra.split("\\s+")));
      env.pods =
          AgentPods.open(
              env.controlPlane, admin, env.lab, AgentMain.class.getName(), agentJvmOptions);
      List<LabProcess> agents = new ArrayList<>();
      for (String cluster : clusterNames) {
        DaemonSet ds =
            env.pods.awaitDaemonSet(
                AGENT_NAMESPACE, "carp-agent-" + cluster, Duration.ofSeconds(60));
        ds.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv().stream()
            .filter(e -> e.getName().equals("JDK_JAVA_OPTIONS") && e.getValue() != null)
            .findFirst()
            .ifPresent(e -> daemonSetJavaOptions = e.getValue());
        for (String node : nodesOf.get(cluster)) agents.add(env.pods.start(node, ds));
        reportPods(admin, ds, 2);
      }
      awaitAgentsWatching(agents, Duration.ofSeconds(120));
      Thread.sleep(
          agentSettleSeconds
              * 1000L); // a running fleet, not JVMs still warming up, receives the addresses
      BenchContext.say(
          name(),
          agents.size() + " agents watch the API server; applying " + count + " VirtualAddresses");

      ReadyTracker tracker = new ReadyTracker();
      env.informer = admin.resources(VirtualAddress.class).inform(tracker);
      long t0 = System.nanoTime();
      tracker.start(t0);
      double appliedSeconds = apply(admin, clusterNames, count, parallel, t0);
      BenchContext.say(
          name(),
          String.format(Locale.ROOT, "applied in %.1f s; waiting for Ready", appliedSeconds));

      List<double[]> allocatedSeries = new ArrayList<>();
      List<double[]> masterSeries = new ArrayList<>();
      List<double[]> readySeries = new ArrayList<>();
      long deadline = t0 + timeoutSeconds * 1_000_000_000L;
      long lastSay = System.nanoTime();
      while (tracker.ready.size() < count && System.nanoTime() < deadline) {
        Thread.sleep(250);
        double t = (System.nanoTime() - t0) / 1e9;
        allocatedSeries.add(new double[] {t, tracker.allocated.size()});
        masterSeries.add(new double[] {t, tracker.mastered.size()});
        readySeries.add(new double[] {t, tracker.ready.size()});
        if (System.nanoTime() - lastSay > 10_000_000_000L) {
          BenchContext.say(
              name(),
              String.format(
                  Locale.ROOT,
                  "%.0f s: %d vhids allocated, %d with a master reported, %d Ready",
                  t,
                  tracker.allocated.size(),
                  tracker.mastered.size(),
                  tracker.ready.size()));
          lastSay = System.nanoTime();
        }
      }
      int readyCount = tracker.ready.size();
      double lastReady =
          tracker.ready.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
      double lastAllocated =
          tracker.allocated.values().stream()
              .mapToDouble(Double::doubleValue)
              .max()
              .orElse(Double.NaN);
      double lastMastered =
          tracker.mastered.values().stream()
              .mapToDouble(Double::doubleValue)
              .max()
              .orElse(Double.NaN);
      BenchContext.say(
          name(),
          String.format(
              Locale.ROOT, "%d of %d Ready, the last at %.1f s", readyCount, count, lastReady));
      for (LabProcess p : agents)
        if (!p.isAlive()) BenchContext.say(name(), "agent " + p.host() + " exited:\n" + tail(p));

      // steady state: nothing changes but the agents' periodic reports and the operator's periodic
      // reconciles
      Thread.sleep(settleSeconds * 1000L);
      Map<String, Long> before = counter.snapshot();
      double serverBefore = apiserverRequests(env.controlPlane);
      long s0 = System.nanoTime();
      Thread.sleep(steadySeconds * 1000L);
      Map<String, Long> after = counter.snapshot();
      double serverAfter = apiserverRequests(env.controlPlane);
      double minutes = (System.nanoTime() - s0) / 60e9;
      Map<String, Long> steady = RequestCounter.delta(before, after);
      double perMinute = RequestCounter.total(steady) / minutes;
      double serverPerMinute = (serverAfter - serverBefore) / minutes;
      BenchContext.say(
          name(),
          String.format(
              Locale.ROOT,
              "steady state: operator %.0f API calls/min (%s); all clients %.0f/min",
              perMinute,
              steady,
              serverPerMinute));
      int stillReady = tracker.readyNow();
      List<List<String>> processes = processRows(env, agents);
      double maxAgentRssMiB =
          agents.stream()
              .filter(LabProcess::isAlive)
              .mapToDouble(p -> ProcStats.of(p.pid()).rssKiB() / 1024.0)
              .max()
              .orElse(Double.NaN);
      double wallSeconds = (System.nanoTime() - t0) / 1e9;

      ctx.save(
          result(
              ctx,
              count,
              clusters,
              appliedSeconds,
              readyCount,
              lastReady,
              lastAllocated,
              lastMastered,
              tracker,
              allocatedSeries,
              masterSeries,
              readySeries,
              steady,
              perMinute,
              serverPerMinute,
              minutes,
              stillReady,
              settleSeconds,
              counter.snapshot(),
              parallel,
              processes,
              wallSeconds,
              maxAgentRssMiB));
    }
  }

  /**
   * RSS and CPU seconds of every process of the run (each agent, kube-apiserver, etcd, and this JVM
   * with the operator in it): where the machine's time went.
   */
  private static List<List<String>> processRows(Env env, List<LabProcess> agents) {
    List<List<String>> rows = new ArrayList<>();
    for (LabProcess p : agents) {
      if (p.isAlive()) rows.add(processRow("agent " + p.host(), p.pid()));
    }
    List<Long> cp = env.controlPlane.pids();
    for (long pid : cp) {
      String cmd = ProcessHandle.of(pid).flatMap(h -> h.info().command()).orElse("?");
      rows.add(processRow(cmd.substring(cmd.lastIndexOf('/') + 1), pid));
    }
    rows.add(
        processRow("bench JVM (the operator, the bench's client)", ProcessHandle.current().pid()));
    return rows;
  }

  private static List<String> processRow(String name, long pid) {
    ProcStats s = ProcStats.of(pid);
    return List.of(
        name,
        String.format(Locale.ROOT, "%.0f", s.rssKiB() / 1024.0),
        String.format(Locale.ROOT, "%.0f", s.cpuTicks() / ProcStats.TICKS_PER_SECOND));
  }

  /**
   * Creates the VirtualAddresses from {@code parallel} threads; returns the seconds from t0 until
   * the last was accepted.
   */
  private static double apply(
      KubernetesClient admin, List<String> clusters, int count, int parallel, long t0)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(parallel);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        int c = i / PER_CLUSTER;
        int k = i % PER_CLUSTER + 1;
        String yaml =
            """
            apiVersion: carp-operator.dev/v1alpha1
            kind: VirtualAddress
            metadata: {name: %s}
            spec:
              cluster: %s
              interface: eth0
              addresses: ["%s"]
              nodes:
                - {name: c%da, advskew: 0}
                - {name: c%db, advskew: 100}
            """
                .formatted(vaName(c, k), clusters.get(c), address(c, k), c, c);
        VirtualAddress va =
            admin.getKubernetesSerialization().unmarshal(yaml, VirtualAddress.class);
        done.add(pool.submit(() -> admin.resource(va).create()));
      }
      for (Future<?> f : done) f.get();
      return (System.nanoTime() - t0) / 1e9;
    } finally {
      pool.shutdownNow();
    }
  }

  static String vaName(int cluster, int k) {
    return String.format(Locale.ROOT, "bench-c%d-%03d", cluster, k);
  }

  /**
   * A TEST-NET address unique across the whole run: cluster 0 in 198.51.100.0/24, cluster 1 in
   * 203.0.113.0/24, the others in 2001:db8:CLUSTER::/64 (the hosts' own addresses are 192.0.2.11
   * and .12 on every segment).
   */
  static String address(int cluster, int k) {
    return switch (cluster) {
      case 0 -> "198.51.100." + k + "/24";
      case 1 -> "203.0.113." + k + "/24";
      default -> "2001:db8:" + cluster + "::" + Integer.toHexString(k) + "/64";
    };
  }

  /**
   * What the DaemonSet controller would write: every pod scheduled and ready (there is no kubelet).
   */
  private static void reportPods(KubernetesClient admin, DaemonSet ds, int nodes) {
    String status =
        admin
            .getKubernetesSerialization()
            .asJson(
                Map.of(
                    "status",
                    Map.of(
                        "desiredNumberScheduled",
                        nodes,
                        "currentNumberScheduled",
                        nodes,
                        "updatedNumberScheduled",
                        nodes,
                        "numberReady",
                        nodes,
                        "numberAvailable",
                        nodes,
                        "numberUnavailable",
                        0,
                        "numberMisscheduled",
                        0,
                        "observedGeneration",
                        ds.getMetadata().getGeneration())));
    admin
        .apps()
        .daemonSets()
        .inNamespace(ds.getMetadata().getNamespace())
        .withName(ds.getMetadata().getName())
        .subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), status);
  }

  private static void awaitAgentsWatching(List<LabProcess> agents, Duration within)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    for (LabProcess p : agents) {
      while (!p.output().contains("watching the API server")) {
        if (!p.isAlive())
          throw new IllegalStateException("agent " + p.host() + " exited:\n" + tail(p));
        if (System.nanoTime() > deadline)
          throw new IllegalStateException(
              "agent " + p.host() + " does not watch the API server:\n" + tail(p));
        Thread.sleep(200);
      }
    }
    Thread.sleep(2000); // the informers' first list
  }

  /**
   * Sum of apiserver_request_total over every label set: all requests the API server has answered.
   */
  private static double apiserverRequests(ControlPlane cp) {
    double sum = 0;
    for (String line : cp.kubectl("get", "--raw", "/metrics").split("\n")) {
      if (line.startsWith("apiserver_request_total{"))
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  private static String tail(LabProcess p) {
    List<String> lines = p.output().lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
  }

  /**
   * Seconds from t0 at which each address first had a vhid, a master reported by an agent, and
   * Ready=True.
   */
  static final class ReadyTracker implements ResourceEventHandler<VirtualAddress> {
    final Map<String, Double> allocated = new ConcurrentHashMap<>();
    final Map<String, Double> mastered = new ConcurrentHashMap<>();
    final Map<String, Double> ready = new ConcurrentHashMap<>();
    final Map<String, Boolean> readyNow = new ConcurrentHashMap<>();
    private volatile long t0;

    void start(long t0) {
      this.t0 = t0;
    }

    int readyNow() {
      return (int) readyNow.values().stream().filter(b -> b).count();
    }

    private void seen(VirtualAddress va) {
      if (t0 == 0 || va.getStatus() == null) return;
      double t = (System.nanoTime() - t0) / 1e9;
      String name = va.getMetadata().getName();
      var st = va.getStatus();
      if (st.getVhid() != null) allocated.putIfAbsent(name, t);
      if (st.getNodes() != null
          && st.getNodes().stream().anyMatch(n -> n.getState() == CarpState.MASTER))
        mastered.putIfAbsent(name, t);
      boolean isReady =
          st.getConditions() != null
              && st.getConditions().stream()
                  .anyMatch(
                      c ->
                          CarpApi.CONDITION_READY.equals(c.getType())
                              && "True".equals(c.getStatus()));
      readyNow.put(name, isReady);
      if (isReady) ready.putIfAbsent(name, t);
    }

    @Override
    public void onAdd(VirtualAddress va) {
      seen(va);
    }

    @Override
    public void onUpdate(VirtualAddress old, VirtualAddress va) {
      seen(va);
    }

    @Override
    public void onDelete(VirtualAddress va, boolean unknown) {}
  }

  /** What the run started, stopped in reverse order. */
  private static final class Env implements AutoCloseable {
    ControlPlane controlPlane;
    KubernetesClient admin;
    KubernetesClient operatorClient;
    Operator operator;
    NetnsLab lab;
    AgentPods pods;
    SharedIndexInformer<VirtualAddress> informer;

    @Override
    public void close() {
      if (informer != null) informer.close();
      if (pods != null) pods.close();
      if (lab != null) lab.close();
      if (operator != null) operator.stop();
      if (operatorClient != null) operatorClient.close();
      if (admin != null) admin.close();
      if (controlPlane != null) controlPlane.close();
    }
  }

  private Result result(
      BenchContext ctx,
      int count,
      int clusters,
      double appliedSeconds,
      int readyCount,
      double lastReady,
      double lastAllocated,
      double lastMastered,
      ReadyTracker tracker,
      List<double[]> allocatedSeries,
      List<double[]> masterSeries,
      List<double[]> readySeries,
      Map<String, Long> steady,
      double perMinute,
      double serverPerMinute,
      double minutes,
      int stillReady,
      int settleSeconds,
      Map<String, Long> wholeRun,
      int parallel,
      List<List<String>> processes,
      double wallSeconds,
      double maxAgentRssMiB) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("VirtualAddresses", Integer.toString(count)));
    rows.add(List.of("FirewallClusters / agents", clusters + " / " + 2 * clusters));
    rows.add(List.of("all created (API server accepted)", fmt(appliedSeconds) + " s"));
    rows.add(List.of("last vhid allocated", fmt(lastAllocated) + " s"));
    rows.add(List.of("last master reported by an agent", fmt(lastMastered) + " s"));
    rows.add(List.of("last Ready (" + readyCount + " of " + count + ")", fmt(lastReady) + " s"));
    rows.add(
        List.of(
            "operator API calls per minute, steady state",
            String.format(Locale.ROOT, "%.0f", perMinute)));
    rows.add(
        List.of(
            "all clients' requests per minute (apiserver_request_total)",
            String.format(Locale.ROOT, "%.0f", serverPerMinute)));
    rows.add(List.of("Ready at the end of the steady-state window", stillReady + " of " + count));
    Result.Table summary =
        new Result.Table(
            "Operator at scale",
            List.of("measure", "value"),
            rows,
            "times from the first create; steady state over "
                + String.format(Locale.ROOT, "%.1f", minutes)
                + " min, "
                + settleSeconds
                + " s after the last Ready");

    List<List<String>> calls = new ArrayList<>();
    steady.forEach(
        (k, v) -> calls.add(List.of(k, String.format(Locale.ROOT, "%.1f", v / minutes))));
    Result.Table breakdown =
        new Result.Table(
            "Operator API calls per minute at steady state, by verb and resource",
            List.of("call", "per minute"),
            calls,
            "counted in the operator's fabric8 client (HTTP interceptor); a watch counts when it is opened");

    List<List<String>> runRows = new ArrayList<>();
    wholeRun.forEach((k, v) -> runRows.add(List.of(k, Long.toString(v))));
    Result.Table whole =
        new Result.Table(
            "Operator API calls over the whole run (start, "
                + count
                + " addresses to Ready, steady state)",
            List.of("call", "count"),
            runRows,
            null);

    Map<String, List<double[]>> lines = new LinkedHashMap<>();
    lines.put("vhid allocated", allocatedSeries);
    lines.put("master reported", masterSeries);
    lines.put("Ready", readySeries);
    String plot =
        Plots.lines(
            ctx.outDir(),
            "scale-ready.png",
            count + " VirtualAddresses: progress after applying them",
            "seconds since the first create",
            "VirtualAddresses",
            lines);

    Map<String, List<Double>> samples = new LinkedHashMap<>();
    samples.put("ready_seconds", tracker.ready.values().stream().sorted().toList());
    samples.put("master_reported_seconds", tracker.mastered.values().stream().sorted().toList());
    samples.put("vhid_allocated_seconds", tracker.allocated.values().stream().sorted().toList());
    samples.put("operator_calls_per_minute_steady", List.of(perMinute));

    List<String> notes = new ArrayList<>();
    notes.add(
        "Real control plane (etcd + kube-apiserver from scripts/build-control-plane.sh), the operator in the bench's JVM (OperatorMain, "
            + "leader election off), and "
            + 2 * clusters
            + " real agents (AgentMain in Kubernetes mode from the operator's DaemonSets, "
            + "JVM options "
            + String.join(" ", AgentPods.JVM_OPTIONS)
            + " "
            + String.join(" ", AGENT_JVM_OPTIONS.subList(0, 2))
            + (ctx.option("scale.agentJvmOptions", "").isBlank()
                ? ""
                : " " + ctx.option("scale.agentJvmOptions", "").trim())
            + (daemonSetJavaOptions.isEmpty()
                ? ""
                : "; the DaemonSet's JDK_JAVA_OPTIONS " + daemonSetJavaOptions)
            + ") in network namespaces; only the kubelet is replaced (AgentPods).");
    notes.add(
        "A vhid is 1–255 per FirewallCluster, so the addresses are spread over "
            + clusters
            + " FirewallClusters of "
            + Math.min(count, PER_CLUSTER)
            + " addresses and two nodes each, each cluster on its own bridge; the operator allocates every vhid.");
    notes.add(
        "Applied with "
            + parallel
            + " parallel creates by an admin client; Ready is observed by a watch of the bench (not counted as the operator's).");
    notes.add(
        "API calls: counted in the operator's own client by an HTTP interceptor (every request it sends, watches once when opened); "
            + "apiserver_request_total is every client's (the operator, the "
            + 2 * clusters
            + " agents' status reports, the bench's watch and kubectl).");
    long fwcGets = steady.getOrDefault("get firewallclusters", 0L);
    if (fwcGets > RequestCounter.total(steady) / 2) {
      notes.add(
          String.format(
              Locale.ROOT,
              "At steady state %.0f of the operator's %.0f calls per minute are GETs of a FirewallCluster: "
                  + "VirtualAddressReconciler.reconcile reads the address's FirewallCluster from the API server (not from an informer cache) on every "
                  + "reconcile, and every agent's status refresh triggers one (a MASTER entry is refreshed every 10 s, every entry every 60 s, "
                  + "plus the 60 s reschedule). Reading it from a cache would leave the periodic node lists and DaemonSet patches.",
              fwcGets / minutes,
              perMinute));
    }
    notes.add(
        String.format(
            Locale.ROOT,
            "The largest agent's RSS at the end (watching all %d VirtualAddresses, running %d vhids) was %.0f MiB; "
                + "the DaemonSet's default memory limit is 192Mi.",
            count,
            Math.min(count, PER_CLUSTER),
            maxAgentRssMiB));
    notes.add(
        "Here the "
            + 2 * clusters
            + " agents, the API server, etcd and the operator share this machine's "
            + Runtime.getRuntime().availableProcessors()
            + " cores (see the process table); in a cluster each agent has its own node.");
    if (count == TARGET_ADDRESSES || count > TARGET_ADDRESSES) {
      boolean met = readyCount == count && lastReady <= READY_TARGET_SECONDS;
      notes.add(
          String.format(
              Locale.ROOT,
              "Target: %d VirtualAddresses Ready within %.0f s: %s (%d Ready, the last at %.1f s%s).",
              count,
              READY_TARGET_SECONDS,
              met ? "met" : "MISSED",
              readyCount,
              lastReady,
              met
                  ? ""
                  : readyCount < count
                      ? "; not all became Ready"
                      : String.format(
                          Locale.ROOT, ", %.1f s over", lastReady - READY_TARGET_SECONDS)));
    } else {
      notes.add(
          String.format(
              Locale.ROOT,
              "Quick run with %d addresses (the target is for %d): the last Ready at %.1f s.",
              count,
              TARGET_ADDRESSES,
              lastReady));
    }
    return new Result(
        name(),
        "Scale: operator with " + count + " VirtualAddresses",
        Instant.now(),
        ctx.command(name()),
        Machine.describe(),
        List.of(
            summary,
            breakdown,
            new Result.Table(
                "Processes at the end of the run: memory and CPU time since they started",
                List.of("process", "RSS MiB", "CPU seconds"),
                processes,
                "everything shares this machine's "
                    + Runtime.getRuntime().availableProcessors()
                    + String.format(
                        Locale.ROOT,
                        " cores; %.0f s passed from the first create to the end of the steady-state window",
                        wallSeconds)),
            whole),
        List.of(
            new Result.Plot(
                plot,
                "Per second since the first create: addresses with a vhid (operator), "
                    + "with a master reported (agents), and Ready (operator).")),
        samples,
        notes);
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.1f", v);
  }
}
