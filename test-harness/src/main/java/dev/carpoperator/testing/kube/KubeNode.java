package dev.carpoperator.testing.kube;

import dev.carpoperator.testing.netns.Commands;
import dev.carpoperator.testing.netns.ExecResult;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One real Kubernetes node in a lab host's network namespace: its own containerd (with Debian's
 * runc and CNI plugins), a kubelet and kube-proxy, all started with {@code nsenter --net} so that
 * they share the machine's mount namespace and cgroup file system, as on a machine of their own.
 * Containers of pods on the host network land in the node's namespace; other pods get a bridge
 * ({@code cni0}) with addresses of the node's pod subnet.
 *
 * <p>What is per node: containerd's root, state and sockets, the kubelet's root directory, pod
 * logs, CNI configuration and IP allocations, and a cgroup root ({@code /carp-lab/<lab>/<node>} in
 * every cgroup v1 hierarchy). What is shared: the kernel (conntrack and sysctls are per namespace,
 * though), the binaries.
 *
 * <p>{@link #powerOff} is a power loss: every process of the node, kubelet, containerd, shims and
 * containers, is SIGKILLed, and what lived in memory (containerd's state, the pods' mounts) is
 * gone; {@link #powerOn} boots it: containerd (images still on disk), kubelet and kube-proxy start
 * again and the kubelet restarts its pods.
 */
public final class KubeNode {
  private static final Logger log = LoggerFactory.getLogger(KubeNode.class);

  /** The root of the lab nodes' cgroups in every cgroup v1 hierarchy. */
  static final String CGROUP_PARENT = "carp-lab";

  private final NetnsLab.Host host;
  private final String name;
  private final String address;
  private final String podSubnet;
  private final Path dir;
  private final Path binDir;
  private final String cgroupRoot;
  private final String pauseImage;
  private final ClusterPki pki;
  private final String apiUrl;
  private final String clusterIf;
  private final List<LabProcess> processes = new ArrayList<>();

  /** Other nodes' pod subnets → their address: routes set now and again at every boot. */
  private final java.util.Map<String, String> podRoutes =
      new java.util.concurrent.ConcurrentHashMap<>();

  KubeNode(
      NetnsLab.Host host,
      String name,
      String address,
      String podSubnet,
      Path dir,
      Path binDir,
      String labId,
      String pauseImage,
      ClusterPki pki,
      String apiUrl,
      String clusterIf) {
    this.clusterIf = clusterIf;
    this.host = host;
    this.name = name;
    this.address = address;
    this.podSubnet = podSubnet;
    this.dir = dir;
    this.binDir = binDir;
    this.cgroupRoot = "/" + CGROUP_PARENT + "/" + labId + "/" + name;
    this.pauseImage = pauseImage;
    this.pki = pki;
    this.apiUrl = apiUrl;
  }

  public String name() {
    return name;
  }

  /** The node's pod subnet (its CNI bridge's range). */
  public String podSubnet() {
    return podSubnet;
  }

  /** Routes {@code subnet} (another node's pods) via {@code via}, now and after every boot. */
  void routePods(String subnet, String via) {
    podRoutes.put(subnet, via);
    host.exec("ip", "route", "replace", subnet, "via", via, "dev", clusterIf).check();
  }

  /** The node's InternalIP: its address on the cluster network. */
  public String address() {
    return address;
  }

  public NetnsLab.Host host() {
    return host;
  }

  /** containerd's socket, for {@code ctr --address}. */
  /** The kubelet's staticPodPath: manifests put here run as static pods. */
  public Path staticPodDirectory() {
    return dir.resolve("manifests");
  }

  public Path containerdSocket() {
    return dir.resolve("containerd.sock");
  }

  /**
   * Writes the configuration and starts containerd; {@link #importImages} and {@link #startKubelet}
   * follow.
   */
  void startContainerd() {
    try {
      for (String d :
          List.of(
              "containerd/root",
              "containerd/state",
              "containerd/opt",
              "cni/net.d",
              "cni/ipam",
              "kubelet",
              "pod-logs",
              "manifests")) {
        Files.createDirectories(dir.resolve(d));
      }
      Files.writeString(dir.resolve("containerd.toml"), containerdConfig());
      Files.writeString(dir.resolve("cni/net.d/10-carp-lab.conflist"), cniConfig());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    createCgroups();
    // A route for the Services' range: a host-network client (the agent) connecting to the
    // kubernetes Service needs
    // one before kube-proxy's DNAT can send it to the API server (nodes elsewhere have a default
    // route). Set at every
    // boot: taking the link down (a power-off) removes it.
    host.exec("ip", "route", "replace", NodeCluster.SERVICE_CIDR, "dev", clusterIf).check();
    podRoutes.forEach(
        (subnet, via) ->
            host.exec("ip", "route", "replace", subnet, "via", via, "dev", clusterIf).check());
    Commands.run("rm", "-f", containerdSocket().toString());
    processes.add(
        host.startSharingMounts(
            "containerd",
            List.of("containerd", "--config", dir.resolve("containerd.toml").toString())));
    awaitTrue(
        Duration.ofSeconds(30), "containerd of " + name + " to answer", () -> ctr("version").ok());
  }

  /**
   * Imports image archives (docker or OCI archives, as {@code podman save} writes them) into the
   * node's containerd.
   */
  public void importImages(List<Path> archives) {
    for (Path a : archives) {
      ExecResult r =
          ctrTimed(Duration.ofMinutes(3), "-n", "k8s.io", "images", "import", a.toString());
      if (!r.ok())
        throw new IllegalStateException(
            "importing " + a + " into " + name + "'s containerd failed: " + r.stderr().strip());
    }
  }

  /** The image references containerd has in the kubelet's namespace. */
  public List<String> images() {
    return ctr("-n", "k8s.io", "images", "list", "-q")
        .stdout()
        .lines()
        .filter(l -> !l.startsWith("sha256:"))
        .toList();
  }

  /** Starts the kubelet (it registers the Node) and kube-proxy. */
  void startKubelet() {
    Path kubeconfig =
        pki.client("node-" + name, "system:node:" + name, "system:nodes")
            .kubeconfig("node-" + name, apiUrl);
    Path proxyConfig =
        pki.client("kube-proxy-" + name, "system:kube-proxy", null)
            .kubeconfig("kube-proxy-" + name, apiUrl);
    try {
      Files.writeString(dir.resolve("kubelet.yaml"), kubeletConfig());
      Files.writeString(dir.resolve("kube-proxy.yaml"), kubeProxyConfig(proxyConfig));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    processes.add(
        host.startSharingMounts(
            "kubelet",
            List.of(
                binDir.resolve("kubelet").toString(),
                "--config=" + dir.resolve("kubelet.yaml"),
                "--kubeconfig=" + kubeconfig,
                "--root-dir=" + dir.resolve("kubelet"),
                "--cert-dir="
                    + dir.resolve(
                        "kubelet/pki"), // the default is /var/lib/kubelet/pki whatever the root
                // directory
                "--hostname-override=" + name,
                "--node-ip=" + address)));
    startKubeProxy();
  }

  /**
   * Starts kube-proxy again after {@link #stopKubeProxy} (its config is written by the kubelet's
   * start).
   */
  public void startKubeProxy() {
    processes.add(
        host.startSharingMounts(
            "kube-proxy",
            List.of(
                binDir.resolve("kube-proxy").toString(),
                "--config=" + dir.resolve("kube-proxy.yaml"))));
  }

  /**
   * Stops kube-proxy alone (SIGTERM), as when it crashes: its rules stay in the kernel and go on
   * forwarding, but its /healthz on 127.0.0.1:10256 no longer answers.
   */
  public void stopKubeProxy() {
    for (var it = processes.iterator(); it.hasNext(); ) {
      LabProcess p = it.next();
      if (p.command().stream().anyMatch(c -> c.endsWith("/kube-proxy"))) {
        p.stop(Duration.ofSeconds(10));
        it.remove();
      }
    }
  }

  /** Whether the kubelet, containerd and kube-proxy processes run. */
  /**
   * Every process of the node (containerd, kubelet, kube-proxy, shims and the containers), by its
   * cgroup tree.
   */
  public List<Long> processes() {
    return cgroupPids(cgroupRoot);
  }

  public boolean isRunning() {
    return !processes.isEmpty() && processes.stream().allMatch(LabProcess::isAlive);
  }

  /** Logs of the node's daemons (containerd, kubelet, kube-proxy). */
  public List<Path> logs() {
    return processes.stream().map(LabProcess::log).distinct().toList();
  }

  /**
   * A power loss: every process of the node (kubelet, kube-proxy, containerd, shims, containers,
   * whatever else runs in its namespace) is SIGKILLed at once, then what would not survive a reboot
   * is cleared: the pods' mounts and containerd's state directory (on a real node a tmpfs under
   * /run).
   */
  public void powerOff() {
    killEverything();
    processes.clear();
    unmountUnder(dir);
    deleteTree(dir.resolve("containerd/state"));
    deleteTree(dir.resolve("kubelet/pods"));
  }

  /**
   * Boots the node after {@link #powerOff}: containerd (images kept), kubelet and kube-proxy start
   * again.
   */
  public void powerOn() {
    startContainerd();
    startKubelet();
  }

  /**
   * Stops the node for good: everything killed, mounts and cgroups removed, the node's directory
   * deleted.
   */
  void destroy() {
    powerOff();
    removeCgroups(cgroupRoot);
    deleteTree(dir);
  }

  private void killEverything() {
    // The namespace's processes (daemons, shims, host-network containers) and the cgroup tree's
    // (every container).
    for (int round = 0; round < 20; round++) {
      List<Long> pids = new ArrayList<>(netnsPids());
      pids.addAll(cgroupPids(cgroupRoot));
      if (pids.isEmpty()) return;
      pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      ControlPlane.sleep(100);
    }
    log.warn(
        "processes of node {} survived SIGKILL: {} {}", name, netnsPids(), cgroupPids(cgroupRoot));
  }

  private List<Long> netnsPids() {
    ExecResult r = Commands.run("ip", "netns", "pids", host.namespace());
    return r.stdout()
        .lines()
        .map(String::strip)
        .filter(s -> s.matches("\\d+"))
        .map(Long::parseLong)
        .toList();
  }

  private String containerdConfig() {
    return """
        version = 2
        root = "%1$s/containerd/root"
        state = "%1$s/containerd/state"
        # Snapshotters and plugins the lab does not use (and that log errors on this file system).
        disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                            "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                            "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
        [grpc]
          address = "%1$s/containerd.sock"
        [ttrpc]
          address = "%1$s/containerd.sock.ttrpc"
        [debug]
          address = ""
        [metrics]
          address = ""
        [plugins."io.containerd.internal.v1.opt"]
          path = "%1$s/containerd/opt"
        [plugins."io.containerd.grpc.v1.cri"]
          sandbox_image = "%2$s"
          # Lowering a process's OOM score needs CAP_SYS_RESOURCE, which this machine withholds.
          restrict_oom_score_adj = true
          # Pods' network namespaces under this node's state directory, not in the machine-wide /run/netns.
          netns_mounts_under_state_dir = true
          disable_apparmor = true
          [plugins."io.containerd.grpc.v1.cri".cni]
            bin_dir = "/usr/lib/cni"
            conf_dir = "%1$s/cni/net.d"
          [plugins."io.containerd.grpc.v1.cri".containerd]
            snapshotter = "overlayfs"
            default_runtime_name = "runc"
            [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
              runtime_type = "io.containerd.runc.v2"
              [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                SystemdCgroup = false
        """
        .formatted(dir, pauseImage);
  }

  private String cniConfig() {
    return """
        {
          "cniVersion": "1.0.0",
          "name": "carp-lab",
          "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": "%s"}},
            {"type": "portmap", "capabilities": {"portMappings": true}}
          ]
        }
        """
        .formatted(podSubnet, dir.resolve("cni/ipam"));
  }

  private String kubeletConfig() {
    return """
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        authentication:
          anonymous: {enabled: false}
          webhook: {enabled: true}
          x509: {clientCAFile: "%1$s"}
        authorization: {mode: Webhook}
        containerRuntimeEndpoint: "unix://%2$s"
        cgroupDriver: cgroupfs
        cgroupRoot: "%3$s"
        # The machine runs cgroup v1; its kernel gives no CAP_SYS_RESOURCE (no negative OOM scores) and has swap rules of
        # its own.
        failCgroupV1: false
        failSwapOn: false
        oomScoreAdj: 0
        podLogsDir: "%4$s"
        staticPodPath: "%5$s"
        healthzBindAddress: 127.0.0.1
        readOnlyPort: 0
        clusterDomain: cluster.local
        # Images come from archives imported here (there is no registry): never collect them, and several kubelets
        # share one disk, so no eviction for disk space either.
        imageGCHighThresholdPercent: 100
        imageGCLowThresholdPercent: 99
        evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
        serializeImagePulls: false
        nodeStatusUpdateFrequency: 5s
        """
        .formatted(
            pki.caCert(),
            containerdSocket(),
            cgroupRoot,
            dir.resolve("pod-logs"),
            dir.resolve("manifests"));
  }

  private String kubeProxyConfig(Path kubeconfig) {
    return """
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        clientConnection: {kubeconfig: "%s"}
        hostnameOverride: %s
        mode: iptables
        clusterCIDR: %s
        oomScoreAdj: 0
        # Conntrack limits and timeouts are left as the namespace has them (0 = do not touch): the state-sync tests rely
        # on the kernel's defaults, and the global table size is not this namespace's to set. tcpBeLiberal: after a
        # failover, the old master still carries the answers of the Services' connections it masqueraded (addressed to
        # its own address) but no longer sees the client's data, so strict window tracking would drop those answers
        # (docs/services.md). It relaxes windows only: a packet of an unknown connection is still invalid (loose=0).
        conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, tcpBeLiberal: true}
        healthzBindAddress: 127.0.0.1:10256
        metricsBindAddress: 127.0.0.1:10249
        """
        .formatted(kubeconfig, name, NodeCluster.POD_CIDR);
  }

  // ---- cgroups, mounts, files
  // ---------------------------------------------------------------------------------

  /**
   * The node's cgroup root in every cgroup v1 hierarchy, cpuset values copied down (a new cpuset
   * has none).
   */
  private void createCgroups() {
    for (Path hierarchy : hierarchies()) {
      Path at = hierarchy;
      for (String part : cgroupRoot.substring(1).split("/")) {
        Path next = at.resolve(part);
        try {
          if (!Files.isDirectory(next)) Files.createDirectory(next);
          if (hierarchy.getFileName().toString().equals("cpuset")) {
            for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
              if (Files.readString(next.resolve(f)).isBlank())
                Files.writeString(next.resolve(f), Files.readString(at.resolve(f)).strip());
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException("cannot prepare cgroup " + next, e);
        }
        at = next;
      }
    }
  }

  /**
   * The cgroup v1 hierarchies mounted under /sys/fs/cgroup (the cgroup2 one, "unified", is not used
   * in v1 mode).
   */
  static List<Path> hierarchies() {
    try (Stream<Path> s = Files.list(Path.of("/sys/fs/cgroup"))) {
      return s.filter(
              p ->
                  Files.isDirectory(p)
                      && !Files.isSymbolicLink(p)
                      && !p.getFileName().toString().equals("unified")
                      && Files.exists(p.resolve("cgroup.procs")))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Every process in the cgroup tree {@code root} (relative to the hierarchies), in any hierarchy.
   */
  static List<Long> cgroupPids(String root) {
    List<Long> out = new ArrayList<>();
    for (Path h : hierarchies()) {
      Path top = h.resolve(root.substring(1));
      if (!Files.isDirectory(top)) continue;
      try (Stream<Path> walk = Files.walk(top)) {
        for (Path procs :
            walk.filter(p -> p.getFileName().toString().equals("cgroup.procs")).toList()) {
          Files.readAllLines(procs).stream()
              .map(String::strip)
              .filter(s -> !s.isEmpty())
              .map(Long::parseLong)
              .forEach(out::add);
        }
      } catch (IOException | UncheckedIOException e) {
        // a cgroup removed while walking: nothing left in it
      }
    }
    return out.stream().distinct().toList();
  }

  /**
   * Removes the cgroup tree {@code root} in every hierarchy, deepest first (they must be empty of
   * processes).
   */
  static void removeCgroups(String root) {
    for (Path h : hierarchies()) {
      Path top = h.resolve(root.substring(1));
      if (!Files.isDirectory(top)) continue;
      try (Stream<Path> walk = Files.walk(top)) {
        // rmdir, not a recursive delete: a cgroup's files cannot be deleted, the directory goes
        // with its files
        walk.filter(Files::isDirectory)
            .sorted(Comparator.reverseOrder())
            .forEach(d -> Commands.run("rmdir", d.toString()));
      } catch (IOException | UncheckedIOException e) {
        log.debug("cannot remove cgroups under {}", top, e);
      }
    }
  }

  /**
   * Unmounts every mount point under {@code dir}, deepest first (lazily: nothing may still use them
   * after a kill).
   */
  static void unmountUnder(Path dir) {
    String prefix = dir.toAbsolutePath() + "/";
    try {
      List<String> points =
          Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
              .map(l -> l.split(" ")[4])
              .map(KubeNode::unescapeMountPath)
              .filter(p -> p.startsWith(prefix))
              .distinct()
              .sorted(Comparator.reverseOrder())
              .toList();
      for (String p : points) Commands.run("umount", "-l", p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String unescapeMountPath(String p) {
    return p.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\");
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) return;
    // rm -rf: faster than walking in Java through containerd's snapshots, and it does not follow
    // symlinks
    ExecResult r =
        Commands.run(
            Duration.ofMinutes(2), List.of("rm", "-rf", "--one-file-system", root.toString()));
    if (!r.ok()) log.warn("cannot delete {}: {}", root, r.stderr().strip());
  }

  private ExecResult ctr(String... args) {
    return ctrTimed(Commands.DEFAULT_TIMEOUT, args);
  }

  private ExecResult ctrTimed(Duration timeout, String... args) {
    List<String> cmd = new ArrayList<>(List.of("ctr", "--address", containerdSocket().toString()));
    cmd.addAll(List.of(args));
    return Commands.run(timeout, cmd);
  }

  private static void awaitTrue(
      Duration within, String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline)
        throw new IllegalStateException("waited " + within.toSeconds() + " s for " + what);
      ControlPlane.sleep(200);
    }
  }

  @Override
  public String toString() {
    return "node " + name + " (" + address + ", pods " + podSubnet + ")";
  }
}
