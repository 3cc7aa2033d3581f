package dev.carpoperator.lab;

import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.cluster.AgentDaemonSets;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Helm;
import dev.carpoperator.testing.kube.KubeNode;
import dev.carpoperator.testing.kube.LocalImages;
import dev.carpoperator.testing.kube.NodeCluster;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The running lab: the network of {@link LabNetwork}, a Kubernetes cluster with real nodes on it
 * ({@link NodeCluster}: the control plane's namespace is node "control", mickey, minnie and goofy
 * are nodes too, each with containerd, a kubelet and kube-proxy), the project installed by its Helm
 * chart from images built here, and the traffic. Each part is started by the story; {@link
 * #close()} stops whatever was started, in reverse order.
 */
final class Lab implements AutoCloseable {
  static final String NAMESPACE = "carp-system";

  /**
   * The agents' namespace, which the chart creates (Pod Security privileged) and the examples'
   * Secrets live in.
   */
  static final String AGENTS_NAMESPACE = "carp-agents";

  static final String RELEASE = "carp";
  static final String CLUSTER = "mickey-minnie";
  static final String LAN_VA = "mickey-minnie-lan";
  static final String DMZ_VA = "mickey-minnie-dmz";
  static final List<String> ADDRESSES = List.of(LAN_VA, DMZ_VA);
  static final String NODE_LABEL = AgentDaemonSets.RECOMMENDED_NODE_LABEL;
  static final String AGENT_DAEMONSET = "carp-agent-" + CLUSTER;

  final Path root = ControlPlaneBinaries.repositoryRoot();
  LabNetwork net;
  LocalImages images;
  NodeCluster cluster;
  ControlPlane controlPlane;
  KubernetesClient admin;
  Helm helm;
  LabProcess server;
  LabProcess client;
  private Path helmHome;
  private Process vaWatch;
  private boolean closed;

  void createNetwork() {
    net = LabNetwork.create();
  }

  /**
   * The images from the jars just built, with no registry ({@code scripts/build-images.sh
   * --offline}).
   */
  void buildImages() {
    images = LocalImages.build(null);
  }

  /**
   * The control plane in its own namespace, which is also node "control" (the operator's pod runs
   * there).
   */
  void startCluster() {
    cluster = NodeCluster.start(net.lab, images);
    controlPlane = cluster.controlPlane();
    admin = cluster.admin();
    try {
      helmHome = Files.createTempDirectory("carp-lab-helm-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    helm = new Helm(helmHome, controlPlane.kubeconfig());
  }

  /**
   * mickey, minnie and goofy become nodes (their "k8s0" NIC on the cluster switch); returns once
   * all are Ready.
   */
  void addFirewallNodes() {
    List<NodeCluster.NodeSpec> specs = new ArrayList<>();
    for (int i = 0; i < LabNetwork.NODES.size(); i++) {
      specs.add(
          new NodeCluster.NodeSpec(
              net.node(LabNetwork.NODES.get(i)),
              2 + i,
              List.of(images.pause(), images.agent(), images.echo())));
    }
    cluster.addNodes(specs);
    cluster.awaitNodesReady(Duration.ofSeconds(120));
  }

  /**
   * The helm install command line of the lab: the images built here, the operator on the control
   * node.
   */
  List<String> helmInstallArgs() {
    return List.of(
        "install",
        RELEASE,
        Helm.chart().toString(),
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--set",
        "operator.image.repository=" + LocalImages.repository(images.operatorRef()),
        "--set",
        "operator.image.tag=" + images.tag(),
        "--set",
        "agent.image.repository=" + LocalImages.repository(images.agentRef()),
        "--set",
        "agent.image.tag=" + images.tag(),
        "--set",
        "operator.nodeSelector.kubernetes\\.io/hostname=" + NodeCluster.CONTROL_NODE,
        // the lab's nodes share the machine's /run: a directory of this lab's own, removed with it
        "--set",
        "agent.runtimeDirectory=" + runtimeDirectory());
  }

  /**
   * The host directory the lab's agents keep their address records in (one per lab; removed by
   * close).
   */
  String runtimeDirectory() {
    return "/run/carp-lab/" + net.lab.id();
  }

  String helmInstall() {
    return helm.ok(helmInstallArgs().toArray(String[]::new));
  }

  /**
   * Waits for the operator's Deployment to be available (its pod Running and ready on the control
   * node).
   */
  Pod awaitOperator(Duration within) {
    await(
        within,
        "the operator's Deployment to be available",
        () -> {
          Deployment d =
              admin.apps().deployments().inNamespace(NAMESPACE).withName("carp-operator").get();
          return d != null
              && d.getStatus() != null
              && d.getStatus().getAvailableReplicas() != null
              && d.getStatus().getAvailableReplicas() >= 1;
        });
    return admin
        .pods()
        .inNamespace(NAMESPACE)
        .withLabel("app.kubernetes.io/component", "operator")
        .list()
        .getItems()
        .getFirst();
  }

  /**
   * Labels the firewall nodes so that the example's FirewallCluster selects them (what its README
   * says to do).
   */
  String labelNodes() {
    List<String> args = new ArrayList<>(List.of("label", "node"));
    args.addAll(LabNetwork.NODES);
    args.add(NODE_LABEL + "=" + CLUSTER);
    return kubectl(args.toArray(String[]::new));
  }

  DaemonSet awaitAgentDaemonSet(Duration within) {
    await(
        within,
        "the operator to create DaemonSet " + AGENT_DAEMONSET,
        () ->
            admin.apps().daemonSets().inNamespace(AGENTS_NAMESPACE).withName(AGENT_DAEMONSET).get()
                != null);
    return admin.apps().daemonSets().inNamespace(AGENTS_NAMESPACE).withName(AGENT_DAEMONSET).get();
  }

  /** Waits for an agent pod Running and ready on every firewall node. */
  void awaitAgentPods(Duration within) {
    await(
        within,
        "an agent pod ready on each of " + LabNetwork.NODES,
        () -> LabNetwork.NODES.stream().allMatch(n -> agentPod(n).map(Lab::ready).orElse(false)));
  }

  /** The agent DaemonSet's pod on {@code node}. */
  Optional<Pod> agentPod(String node) {
    return admin
        .pods()
        .inNamespace(AGENTS_NAMESPACE)
        .withField("spec.nodeName", node)
        .list()
        .getItems()
        .stream()
        .filter(
            p ->
                p.getMetadata().getOwnerReferences() != null
                    && p.getMetadata().getOwnerReferences().stream()
                        .anyMatch(
                            o ->
                                "DaemonSet".equals(o.getKind())
                                    && AGENT_DAEMONSET.equals(o.getName())))
        .findFirst();
  }

  static boolean ready(Pod p) {
    return p.getStatus() != null
        && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** When the agent container on {@code node} last started, if it runs. */
  Optional<Instant> agentStartedAt(String node) {
    return agentPod(node)
        .flatMap(
            p ->
                Optional.ofNullable(p.getStatus().getContainerStatuses())
                    .flatMap(cs -> cs.stream().findFirst()))
        .map(ContainerStatus::getState)
        .filter(s -> s.getRunning() != null)
        .map(s -> Instant.parse(s.getRunning().getStartedAt()));
  }

  /**
   * The log of the agent container on {@code node} ({@code kubectl logs}, through the API server
   * and its kubelet).
   */
  String agentLog(String node) {
    return agentPod(node)
        .map(
            p -> {
              try {
                return kubectl("logs", "-n", AGENTS_NAMESPACE, p.getMetadata().getName());
              } catch (RuntimeException e) {
                return "";
              }
            })
        .orElse("");
  }

  /**
   * The node loses power: its kubelet, containerd and containers are SIGKILLed, and every link is
   * cut.
   */
  void powerOff(String node) {
    cluster.node(node).powerOff();
    net.powerOff(node);
  }

  /**
   * The node boots: links up, then containerd, kubelet and kube-proxy, and the kubelet starts its
   * pods again.
   */
  void powerOn(String node) {
    net.powerOn(node);
    cluster.node(node).powerOn();
  }

  KubeNode node(String name) {
    return cluster.node(name);
  }

  /** The echo server on the server host; returns once it listens. */
  void startServer() {
    server =
        net.server.startJava(
            "echo-server", TcpStreamsMain.class, "server", String.valueOf(LabNetwork.PORT));
    long until = System.currentTimeMillis() + 20_000;
    while (!server.output().contains("\"type\":\"listening\"")) {
      if (!server.isAlive() || System.currentTimeMillis() > until)
        throw new StoryFailure("the echo server did not start:\n" + server.output());
      sleep(100);
    }
  }

  /**
   * One long-lived TCP session from the client to the server: 1 KB every 50 ms, every byte echoed
   * and checked.
   */
  void startSession() {
    client =
        net.client.startJava(
            "session",
            TcpStreamsMain.class,
            "client",
            LabNetwork.SERVER,
            String.valueOf(LabNetwork.PORT),
            "1",
            "1024",
            "50",
            "0");
  }

  /** The session's latest progress line, or null before the first. */
  TcpStreamsMain.Progress session() {
    List<TcpStreamsMain.Progress> all = TcpStreamsMain.Progress.parse(client.output());
    return all.isEmpty() ? null : all.getLast();
  }

  /**
   * Stops the session (SIGTERM: it drains the echo and prints a summary) and returns the summary.
   */
  TcpStreamsMain.Progress stopSession() {
    client.stop(Duration.ofMillis(TcpStreamsMain.DRAIN_MILLIS + 5000));
    TcpStreamsMain.Progress last = session();
    if (last == null || !last.type().equals("summary"))
      throw new StoryFailure("the session printed no summary:\n" + client.output());
    return last;
  }

  /** One HTTP/1.0 GET from the client host (bash's /dev/tcp: nothing to install); "" on failure. */
  String httpFromClient(String ip) {
    var r =
        net.client.exec(
            "timeout",
            "5",
            "bash",
            "-c",
            "exec 3<>/dev/tcp/" + ip + "/80 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3");
    return r.ok() ? r.stdout() : "";
  }

  /** The first address in a Service's {@code status.loadBalancer.ingress}, or null. */
  String serviceIngress(String namespace, String name) {
    var svc = admin.services().inNamespace(namespace).withName(name).get();
    if (svc == null || svc.getStatus() == null || svc.getStatus().getLoadBalancer() == null)
      return null;
    var ingress = svc.getStatus().getLoadBalancer().getIngress();
    return ingress == null || ingress.isEmpty() ? null : ingress.getFirst().getIp();
  }

  /** The label of examples/active-standby's FirewallCluster's nodeSelector. */
  static final String CLUSTER_LABEL = "node-restriction.kubernetes.io/carp-cluster";

  String kubectl(String... args) {
    return controlPlane.kubectl(args);
  }

  VirtualAddress va(String name) {
    return admin.resources(VirtualAddress.class).withName(name).get();
  }

  /** The master of the address when it is Ready, else null. */
  String readyMaster(String name) {
    VirtualAddress va = va(name);
    if (va == null || va.getStatus() == null || va.getStatus().getConditions() == null) return null;
    boolean ready =
        va.getStatus().getConditions().stream()
            .anyMatch(
                c -> CarpApi.CONDITION_READY.equals(c.getType()) && "True".equals(c.getStatus()));
    return ready ? va.getStatus().getMaster() : null;
  }

  /**
   * Each node's state for the address as its agent reported it (status.nodes), e.g. mickey=MASTER.
   */
  Map<String, String> nodeStates(String name) {
    Map<String, String> out = new LinkedHashMap<>();
    VirtualAddress va = va(name);
    if (va == null || va.getStatus() == null || va.getStatus().getNodes() == null) return out;
    var nodes = new ArrayList<>(va.getStatus().getNodes());
    nodes.sort(java.util.Comparator.comparingInt(n -> LabNetwork.NODES.indexOf(n.getName())));
    for (var n : nodes) out.put(n.getName(), String.valueOf(n.getState()));
    return out;
  }

  /**
   * Runs {@code kubectl get va -w} in the background and hands each row that changed (AGE aside) to
   * {@code rows}: what a user watching the addresses sees, without the repeats caused by status
   * writes that change no column.
   */
  void watchAddresses(Consumer<String> rows) {
    List<String> cmd =
        List.of(
            controlPlane.binDir().resolve("kubectl").toString(),
            "--kubeconfig=" + controlPlane.kubeconfig(),
            "get",
            "va",
            "-w");
    try {
      vaWatch = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Process p = vaWatch;
    Thread.ofVirtual()
        .name("va-watch")
        .start(
            () -> {
              Map<String, String> last = new LinkedHashMap<>();
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  String[] cols = line.trim().split("\\s+");
                  String withoutAge = line.replaceFirst("\\s+\\S+\\s*$", "");
                  if (!withoutAge.equals(last.put(cols[0], withoutAge)))
                    rows.accept(line.stripTrailing());
                }
              } catch (IOException e) {
                // the watch was stopped
              }
            });
  }

  void stopWatch() {
    if (vaWatch != null) vaWatch.destroy();
    vaWatch = null;
  }

  /**
   * Processes of the lab outside the nodes (control plane, traffic), for the state file of a kept
   * lab.
   */
  List<Long> pids() {
    List<Long> out = new ArrayList<>();
    if (controlPlane != null) out.addAll(controlPlane.pids());
    for (LabProcess p : new LabProcess[] {server, client})
      if (p != null && p.isAlive()) out.add(p.pid());
    return out;
  }

  /**
   * Waits for {@code condition}; a {@link StoryFailure} with the cluster's state when it does not
   * come.
   */
  void await(Duration within, String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new StoryFailure(
            "waited "
                + Printer.seconds(within)
                + " for "
                + what
                + "\n"
                + (cluster == null ? "" : cluster.diagnostics()));
      }
      sleep(250);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoryFailure("interrupted");
    }
  }

  /**
   * Stops everything that was started, in reverse order. Safe to call twice (and from a shutdown
   * hook).
   */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    stopWatch();
    if (client != null) client.close();
    if (server != null) server.close();
    if (cluster != null) cluster.close();
    if (net != null) net.close();
    if (helmHome != null) LabState.deleteTree(helmHome.toString());
    if (net != null) LabState.deleteTree(runtimeDirectory());
  }
}
