package dev.carpoperator.testing.kube;

import dev.carpoperator.testing.netns.NetnsLab;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kubernetes cluster with real nodes inside a {@link NetnsLab}: the control plane (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler) in a namespace of its own, which is also
 * a node ({@value #CONTROL_NODE}), and nodes made of lab hosts ({@link KubeNode}: containerd,
 * kubelet, kube-proxy), all on one switch:
 *
 * <pre>
 *   switch "k8s", 198.18.0.0/24 (RFC 2544 test addresses):  control .1 (API server :6443)   nodes .2, .3, ...
 *   pods: 198.19.N.0/24 on the node whose address ends in .N     Services: 198.18.16.0/24 (kubernetes = .1)
 * </pre>
 *
 * Images come from archives built here ({@code scripts/build-images.sh --offline}, {@link
 * LocalImages}), imported into each node's containerd; nothing is pulled. This JVM, kubectl and
 * helm reach the API server on loopback.
 */
public final class NodeCluster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeCluster.class);

  /** The switch of the cluster network. */
  public static final String SWITCH = "k8s";

  /** The name of a node's interface on the cluster network (the control plane's is eth0). */
  public static final String CLUSTER_IF = "k8s0";

  public static final String CONTROL_NODE = "control";
  public static final String NETWORK_PREFIX = "198.18.0.";
  public static final String CONTROL_ADDRESS = NETWORK_PREFIX + "1";
  public static final String POD_CIDR = "198.19.0.0/16";
  public static final String SERVICE_CIDR = "198.18.16.0/24";

  private final NetnsLab lab;
  private final LocalImages images;
  private final Path dir;
  private final ClusterPki pki;
  private final ControlPlane controlPlane;
  private final Path binDir;
  private final Map<String, KubeNode> nodes = new LinkedHashMap<>();
  private final KubernetesClient admin;
  private boolean closed;

  private NodeCluster(NetnsLab lab, LocalImages images, Path binDir) {
    this.lab = lab;
    this.images = images;
    this.binDir = binDir;
    try {
      this.dir = Files.createDirectories(Path.of("/var/lib/carp-lab-nodes", lab.id()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    lab.addSwitch(SWITCH);
    NetnsLab.Host control = lab.addHostOn(SWITCH, CONTROL_NODE, CONTROL_ADDRESS + "/24");
    pki = ClusterPki.create(dir.resolve("pki"));
    controlPlane = ControlPlane.startForNodes(binDir, control, CONTROL_ADDRESS, pki, SERVICE_CIDR);
    admin = controlPlane.adminClient();
  }

  /**
   * Starts the control plane in {@code lab} and makes it a node as well (the operator's Deployment
   * runs there in the lab). Sweeps what an earlier, killed run left (nodes' directories, cgroups,
   * mounts) first.
   */
  public static NodeCluster start(NetnsLab lab, LocalImages images) {
    sweepStale();
    Path binDir = ControlPlaneBinaries.locate();
    for (String b : List.of("kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager")) {
      if (!Files.isExecutable(binDir.resolve(b))) {
        throw new IllegalStateException(
            binDir.resolve(b)
                + " is missing: run scripts/build-control-plane.sh (it builds the nodes' kubelet and "
                + "kube-proxy beside the control plane, from Go modules)");
      }
    }
    NodeCluster cluster = new NodeCluster(lab, images, binDir);
    try {
      cluster.addNodes(
          List.of(
              new NodeSpec(
                  lab.host(CONTROL_NODE),
                  1,
                  List.of(images.pause(), images.operator(), images.echo()))));
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  /**
   * A lab host to make a node: its last address octet on the cluster network and the image archives
   * it gets.
   */
  public record NodeSpec(NetnsLab.Host host, int octet, List<Path> archives) {}

  /**
   * Makes nodes of lab hosts, in parallel: a NIC on the cluster switch (the control host has one),
   * containerd, the images, kubelet and kube-proxy. Returns once each kubelet runs; {@link
   * #awaitNodesReady} waits for Ready.
   */
  public List<KubeNode> addNodes(List<NodeSpec> specs) {
    List<CompletableFuture<KubeNode>> started = new ArrayList<>();
    for (NodeSpec s : specs) {
      String name = s.host().name();
      if (!name.equals(CONTROL_NODE))
        s.host().addInterface(CLUSTER_IF, SWITCH, NETWORK_PREFIX + s.octet() + "/24");
      KubeNode node =
          new KubeNode(
              s.host(),
              name,
              NETWORK_PREFIX + s.octet(),
              "198.19." + s.octet() + ".0/24",
              dir.resolve(name),
              binDir,
              lab.id(),
              images.pauseRef(),
              pki,
              controlPlane.nodesUrl(),
              name.equals(CONTROL_NODE) ? NetnsLab.HOST_IF : CLUSTER_IF);
      synchronized (this) {
        nodes.put(name, node);
      }
      started.add(
          CompletableFuture.supplyAsync(
              () -> {
                long t0 = System.nanoTime();
                node.startContainerd();
                node.importImages(s.archives());
                node.startKubelet();
                log.info(
                    "{}: containerd, {} image archive(s), kubelet and kube-proxy started in {} ms",
                    node,
                    s.archives().size(),
                    (System.nanoTime() - t0) / 1_000_000);
                return node;
              },
              r -> Thread.ofPlatform().name("node-" + name).start(r)));
    }
    List<KubeNode> out;
    try {
      out = started.stream().map(CompletableFuture::join).toList();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : e;
    }
    routePodsBetweenNodes();
    return out;
  }

  /** Waits until the named nodes (all when none is named) are registered and Ready. */
  public void awaitNodesReady(Duration within, String... names) {
    List<String> wanted = names.length == 0 ? List.copyOf(nodes.keySet()) : List.of(names);
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      List<String> notReady =
          wanted.stream().filter(n -> !isReady(admin.nodes().withName(n).get())).toList();
      if (notReady.isEmpty()) return;
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "nodes not Ready after "
                + within.toSeconds()
                + " s: "
                + notReady
                + "\n"
                + diagnostics());
      }
      ControlPlane.sleep(500);
    }
  }

  static boolean isReady(Node node) {
    return node != null
        && node.getStatus() != null
        && node.getStatus().getConditions() != null
        && node.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  public ControlPlane controlPlane() {
    return controlPlane;
  }

  public KubernetesClient admin() {
    return admin;
  }

  public KubeNode node(String name) {
    KubeNode n = nodes.get(name);
    if (n == null)
      throw new IllegalArgumentException("no node " + name + " (nodes: " + nodes.keySet() + ")");
    return n;
  }

  public LocalImages images() {
    return images;
  }

  /**
   * Each node routes every other node's pod subnet to that node's address on the cluster network
   * (flannel's host-gw, by hand): kube-proxy may send a Service's traffic to a pod on another node.
   */
  private synchronized void routePodsBetweenNodes() {
    for (KubeNode n : nodes.values())
      for (KubeNode other : nodes.values())
        if (n != other) n.routePods(other.podSubnet(), other.address());
  }

  /**
   * Waits until kube-controller-manager's garbage collector deletes dependents again: a ConfigMap
   * owned by another is gone after its owner is deleted. After an API server outage the collector
   * resyncs its informers (and holds its workers while it does), so what depends on it (the pods of
   * a deleted Deployment) may take a while; a test waits for this before it asserts such a
   * deletion.
   */
  public void awaitGarbageCollector(Duration within) {
    String ns = "default";
    String name = "carp-gc-probe-" + Long.toHexString(System.nanoTime());
    var owner =
        admin
            .configMaps()
            .inNamespace(ns)
            .resource(
                new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                    .withNewMetadata()
                    .withName(name)
                    .endMetadata()
                    .build())
            .create();
    admin
        .configMaps()
        .inNamespace(ns)
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName(name + "-dependent")
                .addNewOwnerReference()
                .withApiVersion("v1")
                .withKind("ConfigMap")
                .withName(name)
                .withUid(owner.getMetadata().getUid())
                .endOwnerReference()
                .endMetadata()
                .build())
        .create();
    admin.configMaps().inNamespace(ns).withName(name).delete();
    long deadline = System.nanoTime() + within.toNanos();
    while (admin.configMaps().inNamespace(ns).withName(name + "-dependent").get() != null) {
      if (System.nanoTime() > deadline)
        throw new IllegalStateException(
            "the garbage collector did not delete a dependent ConfigMap within "
                + within.toSeconds()
                + " s\n"
                + diagnostics());
      ControlPlane.sleep(500);
    }
  }

  /**
   * The pods of a namespace with the node each runs on and its phase, e.g. for a failure message.
   */
  public String pods(String namespace) {
    return admin.pods().inNamespace(namespace).list().getItems().stream()
        .map(p -> p.getMetadata().getName() + " on " + p.getSpec().getNodeName() + ": " + phase(p))
        .collect(Collectors.joining("\n"));
  }

  private static String phase(Pod p) {
    if (p.getStatus() == null) return "?";
    String waiting =
        p.getStatus().getContainerStatuses() == null
            ? ""
            : p.getStatus().getContainerStatuses().stream()
                .filter(c -> c.getState() != null && c.getState().getWaiting() != null)
                .map(
                    c ->
                        " "
                            + c.getName()
                            + " waiting: "
                            + c.getState().getWaiting().getReason()
                            + " "
                            + c.getState().getWaiting().getMessage())
                .collect(Collectors.joining());
    return p.getStatus().getPhase() + waiting;
  }

  /**
   * What to look at when the cluster misbehaves: nodes, pods, the last lines of each daemon's log.
   */
  public String diagnostics() {
    StringBuilder sb = new StringBuilder("--- cluster\n");
    try {
      sb.append(controlPlane.kubectl("get", "nodes", "-o", "wide"));
      sb.append(controlPlane.kubectl("get", "pods", "-A", "-o", "wide"));
      // The last words of every container that is not ready (of its previous run when it
      // restarted).
      for (Pod p : admin.pods().inAnyNamespace().list().getItems()) {
        if (p.getStatus() == null || p.getStatus().getContainerStatuses() == null) continue;
        for (var c : p.getStatus().getContainerStatuses()) {
          if (Boolean.TRUE.equals(c.getReady())) continue;
          boolean restarted = c.getRestartCount() != null && c.getRestartCount() > 0;
          sb.append("--- kubectl logs ")
              .append(restarted ? "--previous " : "")
              .append(p.getMetadata().getName())
              .append('\n');
          try {
            List<String> args =
                new ArrayList<>(
                    List.of(
                        "logs",
                        "-n",
                        p.getMetadata().getNamespace(),
                        p.getMetadata().getName(),
                        "-c",
                        c.getName(),
                        "--tail=15"));
            if (restarted) args.add("--previous");
            sb.append(controlPlane.kubectl(args.toArray(String[]::new)));
          } catch (RuntimeException e) {
            sb.append("(").append(e.getMessage()).append(")\n");
          }
        }
      }
    } catch (RuntimeException e) {
      sb.append("(API unavailable: ").append(e.getMessage()).append(")\n");
    }
    for (KubeNode n : nodes.values()) {
      for (Path l : n.logs()) sb.append(tail(l, 8));
    }
    // The controllers' last words without the node-lifecycle noise (what the garbage collector
    // did).
    Path cm = controlPlane.workDir().resolve("kube-controller-manager.log");
    try {
      List<String> lines =
          Files.readAllLines(cm).stream().filter(l -> !l.contains("node_lifecycle")).toList();
      sb.append("--- kube-controller-manager.log\n")
          .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size())))
          .append('\n');
    } catch (IOException e) {
      sb.append("--- ").append(cm).append(": ").append(e).append('\n');
    }
    return sb.toString();
  }

  private static String tail(Path file, int n) {
    try {
      List<String> lines = Files.readAllLines(file);
      return "--- "
          + file.getFileName()
          + "\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()))
          + "\n";
    } catch (IOException e) {
      return "--- " + file + ": " + e + "\n";
    }
  }

  /**
   * Removes what lab clusters of processes that no longer run left behind: their nodes' mounts,
   * directories and cgroups (a test JVM killed before its clean-up). The namespaces themselves go
   * with {@link NetnsLab#sweepStale}.
   */
  public static void sweepStale() {
    Path base = Path.of("/var/lib/carp-lab-nodes");
    List<String> ids = new ArrayList<>();
    if (Files.isDirectory(base)) {
      try (Stream<Path> s = Files.list(base)) {
        s.forEach(p -> ids.add(p.getFileName().toString()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    for (Path h : KubeNode.hierarchies()) {
      try (Stream<Path> s = Files.list(h.resolve(KubeNode.CGROUP_PARENT))) {
        s.filter(Files::isDirectory).forEach(p -> ids.add(p.getFileName().toString()));
      } catch (IOException e) {
        // no lab cgroups in this hierarchy
      }
    }
    for (String id : ids.stream().distinct().toList()) {
      if (ownerAlive(id)) continue;
      String root = "/" + KubeNode.CGROUP_PARENT + "/" + id;
      for (int i = 0; i < 20 && !KubeNode.cgroupPids(root).isEmpty(); i++) {
        KubeNode.cgroupPids(root)
            .forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        ControlPlane.sleep(100);
      }
      KubeNode.unmountUnder(base.resolve(id));
      KubeNode.removeCgroups(root);
      KubeNode.deleteTree(base.resolve(id));
      log.info("removed the nodes of stale lab {}", id);
    }
  }

  /** Lab ids are "carpt-PID-SEQ": whether that process still runs. */
  private static boolean ownerAlive(String labId) {
    String[] parts = labId.split("-");
    if (parts.length < 3 || !parts[1].matches("\\d+")) return true; // not ours: leave it alone
    return ProcessHandle.of(Long.parseLong(parts[1])).map(ProcessHandle::isAlive).orElse(false);
  }

  /**
   * Stops every node (a power-off, then their files and cgroups go) and the control plane. Never
   * throws.
   */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    for (KubeNode n : nodes.values()) {
      try {
        n.destroy();
      } catch (RuntimeException e) {
        log.warn("cannot clean up {}: {}", n, e.toString());
      }
    }
    try {
      admin.close();
      controlPlane.close();
    } catch (RuntimeException e) {
      log.warn("cannot stop the control plane: {}", e.toString());
    }
    KubeNode.removeCgroups("/" + KubeNode.CGROUP_PARENT + "/" + lab.id());
    KubeNode.deleteTree(dir);
  }
}
