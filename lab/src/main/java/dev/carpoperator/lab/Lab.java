package dev.carpoperator.lab;

import dev.carpoperator.agent.AgentMain;
import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.OperatorMain;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.operator.cluster.AgentDaemonSets;
import dev.carpoperator.testing.kube.AgentPods;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Crds;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The running lab: a real control plane, the operator in this JVM, the network of {@link LabNetwork}, the agents' pods
 * on the three nodes (started from the DaemonSet the operator creates, {@link AgentPods}), and the traffic. Each
 * part is started by the story; {@link #close()} stops whatever was started, in reverse order.
 */
final class Lab implements AutoCloseable {
  static final String NAMESPACE = "carp-system";
  static final String CLUSTER = "mickey-minnie";
  static final String LAN_VA = "mickey-minnie-lan";
  static final String DMZ_VA = "mickey-minnie-dmz";
  static final List<String> ADDRESSES = List.of(LAN_VA, DMZ_VA);
  static final String NODE_LABEL = AgentDaemonSets.CLUSTER_LABEL;

  final Path root = ControlPlaneBinaries.repositoryRoot();
  ControlPlane controlPlane;
  KubernetesClient admin;
  Operator operator;
  LabNetwork net;
  AgentPods pods;
  DaemonSet agentDaemonSet;
  LabProcess server;
  LabProcess client;
  private Process vaWatch;
  private boolean closed;

  void startControlPlane() {
    controlPlane = ControlPlane.start();
    admin = controlPlane.adminClient();
  }

  /** The CRDs from crds/, the operator's namespace and the RBAC of deploy/rbac (what the Helm chart installs). */
  void installCrdsAndRbac() {
    Crds.install(admin);
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build()).serverSideApply();
    kubectl("apply", "-f", root.resolve("deploy/rbac").toString());
  }

  /** The operator as its Deployment runs it (OperatorMain with its settings), without leader election or health port. */
  void startOperator() {
    operator = OperatorMain.start(new OperatorSettings(NAMESPACE, "carp-operator.dev/lab/carp-agent:local", "IfNotPresent", false, "lab", 0, false),
        o -> o.withKubernetesClient(admin).withCloseClientOnStop(false));
  }

  void createNetwork() {
    net = LabNetwork.create();
  }

  /** A Node object per lab node, labelled so that the example's FirewallCluster selects it. */
  void createNodes() {
    for (String node : LabNetwork.NODES) {
      admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(node).addToLabels(NODE_LABEL, CLUSTER).endMetadata().build())
          .serverSideApply();
    }
  }

  /** Waits for the operator's agent DaemonSet; the lab then runs its pod on every node (there is no kubelet). */
  DaemonSet awaitAgentDaemonSet() {
    // The operator's and the agent's jars both hold a logback.xml (the agent's comes first): no status chatter about it.
    pods = AgentPods.open(controlPlane, admin, net.lab, AgentMain.class.getName(),
        List.of("-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener"));
    agentDaemonSet = pods.awaitDaemonSet(NAMESPACE, "carp-agent-" + CLUSTER, Duration.ofSeconds(60));
    return agentDaemonSet;
  }

  LabProcess startAgent(String node) {
    LabProcess p = pods.start(node, agentDaemonSet);
    reportPods();
    return p;
  }

  /**
   * What the DaemonSet controller and the kubelets would write in the DaemonSet's status: one pod per node, ready
   * while its process runs (the operator shows it in the FirewallCluster's AGENTS and READY columns). A merge patch of
   * the status subresource, so it never conflicts with the operator's writes.
   */
  void reportPods() {
    int ready = (int) LabNetwork.NODES.stream().map(pods::pod).filter(p -> p != null && p.isAlive()).count();
    int nodes = LabNetwork.NODES.size();
    String status = admin.getKubernetesSerialization().asJson(Map.of("status", Map.of("desiredNumberScheduled", nodes,
        "currentNumberScheduled", nodes, "updatedNumberScheduled", nodes, "numberReady", ready, "numberAvailable", ready,
        "numberUnavailable", nodes - ready, "numberMisscheduled", 0,
        "observedGeneration", agentDaemonSet.getMetadata().getGeneration())));
    admin.apps().daemonSets().inNamespace(NAMESPACE).withName(agentDaemonSet.getMetadata().getName()).subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), status);
  }

  /** The node loses power: its agent is SIGKILLed (no bow-out) and every link cut. */
  void powerOff(String node) {
    pods.kill(node);
    net.powerOff(node);
    reportPods();
  }

  /** The node boots and the DaemonSet's pod starts on it again. */
  LabProcess powerOn(String node) {
    net.powerOn(node);
    return startAgent(node);
  }

  /** The echo server on the server host; returns once it listens. */
  void startServer() {
    server = net.server.startJava("echo-server", TcpStreamsMain.class, "server", String.valueOf(LabNetwork.PORT));
    long until = System.currentTimeMillis() + 20_000;
    while (!server.output().contains("\"type\":\"listening\"")) {
      if (!server.isAlive() || System.currentTimeMillis() > until) throw new StoryFailure("the echo server did not start:\n" + server.output());
      sleep(100);
    }
  }

  /** One long-lived TCP session from the client to the server: 1 KB every 50 ms, every byte echoed and checked. */
  void startSession() {
    client = net.client.startJava("session", TcpStreamsMain.class, "client", LabNetwork.SERVER, String.valueOf(LabNetwork.PORT),
        "1", "1024", "50", "0");
  }

  /** The session's latest progress line, or null before the first. */
  TcpStreamsMain.Progress session() {
    List<TcpStreamsMain.Progress> all = TcpStreamsMain.Progress.parse(client.output());
    return all.isEmpty() ? null : all.getLast();
  }

  /** Stops the session (SIGTERM: it drains the echo and prints a summary) and returns the summary. */
  TcpStreamsMain.Progress stopSession() {
    client.stop(Duration.ofMillis(TcpStreamsMain.DRAIN_MILLIS + 5000));
    TcpStreamsMain.Progress last = session();
    if (last == null || !last.type().equals("summary")) throw new StoryFailure("the session printed no summary:\n" + client.output());
    return last;
  }

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
    boolean ready = va.getStatus().getConditions().stream()
        .anyMatch(c -> CarpApi.CONDITION_READY.equals(c.getType()) && "True".equals(c.getStatus()));
    return ready ? va.getStatus().getMaster() : null;
  }

  /** Each node's state for the address as its agent reported it (status.nodes), e.g. mickey=MASTER. */
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
   * Runs {@code kubectl get va -w} in the background and hands each row that changed (AGE aside) to {@code rows}:
   * what a user watching the addresses sees, without the repeats caused by status writes that change no column.
   */
  void watchAddresses(Consumer<String> rows) {
    List<String> cmd = List.of(controlPlane.binDir().resolve("kubectl").toString(), "--kubeconfig=" + controlPlane.kubeconfig(),
        "get", "va", "-w");
    try {
      vaWatch = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Process p = vaWatch;
    Thread.ofVirtual().name("va-watch").start(() -> {
      Map<String, String> last = new LinkedHashMap<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          String[] cols = line.trim().split("\\s+");
          String withoutAge = line.replaceFirst("\\s+\\S+\\s*$", "");
          if (!withoutAge.equals(last.put(cols[0], withoutAge))) rows.accept(line.stripTrailing());
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

  /** Every process the lab runs (control plane, pods, traffic), for the state file of a kept lab. */
  List<Long> pids() {
    List<Long> out = new ArrayList<>();
    if (controlPlane != null) out.addAll(controlPlane.pids());
    if (pods != null) pods.processes().forEach(p -> out.add(p.pid()));
    for (LabProcess p : new LabProcess[] {server, client}) if (p != null && p.isAlive()) out.add(p.pid());
    return out;
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoryFailure("interrupted");
    }
  }

  /** Stops everything that was started, in reverse order. Safe to call twice (and from a shutdown hook). */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    stopWatch();
    if (client != null) client.close();
    if (server != null) server.close();
    if (pods != null) pods.close();
    if (net != null) net.close();
    if (operator != null) operator.stop();
    if (admin != null) admin.close();
    if (controlPlane != null) controlPlane.close();
  }
}
