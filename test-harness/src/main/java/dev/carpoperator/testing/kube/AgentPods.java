package dev.carpoperator.testing.kube;

import dev.carpoperator.testing.netns.ApiBridge;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Stands in for the kubelet on lab hosts: runs a DaemonSet's container as a process in a host's
 * network namespace, the host being the node of the same name. The container's args and env come
 * from the DaemonSet itself (the downward API's {@code spec.nodeName} and {@code
 * metadata.namespace} resolved), its ServiceAccount's token in a kubeconfig, and the API server is
 * reached through an {@link ApiBridge} on {@value #API_PORT_IN_HOSTS} of each host's loopback; only
 * the image is replaced by {@code mainClass} on this JVM's classpath. Host network, as the agent
 * DaemonSet asks.
 */
public final class AgentPods implements AutoCloseable {
  /** The API server's port on every host's loopback (the bridge forwarder listens there). */
  public static final int API_PORT_IN_HOSTS = 16443;

  /** JVM options of a pod, as bin/carp-agent runs the agent. */
  public static final List<String> JVM_OPTIONS =
      List.of(
          "-XX:+UseSerialGC",
          "-Xss512k",
          "-XX:TrimNativeHeapInterval=5000",
          "-XX:+ExitOnOutOfMemoryError");

  private final ControlPlane controlPlane;
  private final KubernetesClient admin;
  private final NetnsLab lab;
  private final String mainClass;
  private final List<String> jvmOptions;
  private final Map<String, Path> kubeconfigs = new LinkedHashMap<>();
  private final Map<String, LabProcess> forwarders = new LinkedHashMap<>();
  private final Map<String, LabProcess> pods = new LinkedHashMap<>();
  private ApiBridge bridge;

  private AgentPods(
      ControlPlane controlPlane,
      KubernetesClient admin,
      NetnsLab lab,
      String mainClass,
      List<String> jvmOptions) {
    this.controlPlane = controlPlane;
    this.admin = admin;
    this.lab = lab;
    this.mainClass = mainClass;
    this.jvmOptions = jvmOptions;
    apiUp();
  }

  /**
   * Opens the bridge to the control plane's API server; pods run {@code mainClass} (e.g. the
   * agent's main class).
   */
  public static AgentPods open(
      ControlPlane controlPlane, KubernetesClient admin, NetnsLab lab, String mainClass) {
    return open(controlPlane, admin, lab, mainClass, List.of());
  }

  /** The same, with JVM options for the pods besides {@link #JVM_OPTIONS}. */
  public static AgentPods open(
      ControlPlane controlPlane,
      KubernetesClient admin,
      NetnsLab lab,
      String mainClass,
      List<String> jvmOptions) {
    List<String> all = new ArrayList<>(JVM_OPTIONS);
    all.addAll(jvmOptions);
    return new AgentPods(controlPlane, admin, lab, mainClass, List.copyOf(all));
  }

  /** Waits (up to {@code timeout}) for the DaemonSet to exist and returns it. */
  public DaemonSet awaitDaemonSet(String namespace, String name, Duration timeout) {
    return admin
        .apps()
        .daemonSets()
        .inNamespace(namespace)
        .withName(name)
        .waitUntilCondition(ds -> ds != null, timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Starts the DaemonSet's (first) container on {@code node}, as the kubelet of that node would;
   * returns the process.
   */
  public synchronized LabProcess start(String node, DaemonSet ds) {
    LabProcess running = pods.get(node);
    if (running != null && running.isAlive())
      throw new IllegalStateException("a pod already runs on " + node + ": " + running);
    NetnsLab.Host host = lab.host(node);
    LabProcess forwarder = forwarders.get(node);
    if (forwarder == null || !forwarder.isAlive()) {
      forwarders.put(
          node,
          host.startJava(
              "api-bridge",
              ApiBridge.class.getName(),
              List.of(),
              Integer.toString(API_PORT_IN_HOSTS),
              socket().toString()));
    }
    String namespace = ds.getMetadata().getNamespace();
    Container c = ds.getSpec().getTemplate().getSpec().getContainers().getFirst();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "env",
                "KUBECONFIG="
                    + kubeconfig(
                        namespace, ds.getSpec().getTemplate().getSpec().getServiceAccountName())));
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvVar e : c.getEnv() == null ? List.<EnvVar>of() : c.getEnv())
      env.put(e.getName(), expand(value(e, node, namespace), env));
    // The pod's volume mounts: the processes here share the machine's file system, so a path under
    // a mount is moved
    // into a directory of this lab's own (a kubelet would mount the node's hostPath there; the
    // lab's nodes are one
    // machine, and its /run must not keep records of test runs).
    for (var m :
        c.getVolumeMounts() == null
            ? List.<io.fabric8.kubernetes.api.model.VolumeMount>of()
            : c.getVolumeMounts()) {
      String mountPath = m.getMountPath().endsWith("/") ? m.getMountPath() : m.getMountPath() + "/";
      Path volume = lab.dir().resolve("volumes").resolve(m.getName());
      env.replaceAll(
          (k, v) ->
              v.equals(m.getMountPath())
                  ? volume.toString()
                  : v.startsWith(mountPath)
                      ? volume.resolve(v.substring(mountPath.length())).toString()
                      : v);
    }
    env.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(
        NetnsLab.javaCommand(
            mainClass,
            jvmOptions,
            c.getArgs() == null ? new String[0] : c.getArgs().toArray(String[]::new)));
    LabProcess pod = host.start(c.getName(), cmd.toArray(String[]::new));
    pods.put(node, pod);
    return pod;
  }

  private Path socket() {
    return lab.dir().resolve("api.sock");
  }

  /** The pod process last started on {@code node}, or null. */
  public synchronized LabProcess pod(String node) {
    return pods.get(node);
  }

  /** The node loses power: its pod and its bridge forwarder are SIGKILLed (no bow-out). */
  public synchronized void kill(String node) {
    for (LabProcess p : new LabProcess[] {pods.get(node), forwarders.remove(node)}) {
      if (p == null) continue;
      p.process().destroyForcibly();
      try {
        p.waitFor(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * The API server becomes unreachable for every pod (connections cut, new ones refused); CARP must
   * not care.
   */
  public synchronized void apiDown() {
    if (bridge != null) bridge.close();
    bridge = null;
  }

  /** The API server is reachable again. */
  public synchronized void apiUp() {
    if (bridge == null)
      bridge = ApiBridge.open(socket(), new InetSocketAddress("127.0.0.1", controlPlane.port()));
  }

  /** Every pod and forwarder process still running (for a lab's state file). */
  public synchronized List<LabProcess> processes() {
    List<LabProcess> out = new ArrayList<>();
    pods.values().stream().filter(LabProcess::isAlive).forEach(out::add);
    forwarders.values().stream().filter(LabProcess::isAlive).forEach(out::add);
    return out;
  }

  /**
   * $(NAME) of a variable defined earlier in the list, as the kubelet expands it; $$ is a literal
   * $.
   */
  static String expand(String value, Map<String, String> earlier) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < value.length(); i++) {
      char ch = value.charAt(i);
      if (ch == '$' && i + 1 < value.length() && value.charAt(i + 1) == '$') {
        out.append('$');
        i++;
      } else if (ch == '$'
          && i + 1 < value.length()
          && value.charAt(i + 1) == '('
          && value.indexOf(')', i) > 0
          && earlier.containsKey(value.substring(i + 2, value.indexOf(')', i)))) {
        out.append(earlier.get(value.substring(i + 2, value.indexOf(')', i))));
        i = value.indexOf(')', i);
      } else {
        out.append(ch);
      }
    }
    return out.toString();
  }

  private static String value(EnvVar e, String node, String namespace) {
    if (e.getValueFrom() == null) return e.getValue() == null ? "" : e.getValue();
    if (e.getValueFrom().getFieldRef() == null)
      throw new IllegalArgumentException(
          "env " + e.getName() + ": only fieldRef is supported here");
    return switch (e.getValueFrom().getFieldRef().getFieldPath()) {
      case "spec.nodeName" -> node;
      case "metadata.namespace" -> namespace;
      // The stand-in's hosts have no Node object with an InternalIP; empty makes the agent serve
      // its metrics on every
      // address, its default outside Kubernetes.
      case "status.hostIP" -> "";
      default ->
          throw new IllegalArgumentException(
              "env "
                  + e.getName()
                  + ": unsupported fieldRef "
                  + e.getValueFrom().getFieldRef().getFieldPath());
    };
  }

  /**
   * A kubeconfig with a 24-hour token of the ServiceAccount, reaching the API server through the
   * bridge.
   */
  private Path kubeconfig(String namespace, String serviceAccount) {
    String sa = serviceAccount == null ? "default" : serviceAccount;
    return kubeconfigs.computeIfAbsent(
        namespace + "/" + sa,
        k -> {
          String token =
              admin
                  .serviceAccounts()
                  .inNamespace(namespace)
                  .withName(sa)
                  .tokenRequest(
                      new TokenRequestBuilder()
                          .withNewSpec()
                          .withExpirationSeconds(24 * 3600L)
                          .endSpec()
                          .build())
                  .getStatus()
                  .getToken();
          Path file = lab.dir().resolve("kubeconfig-" + namespace + "-" + sa);
          try {
            Files.writeString(
                file, ControlPlane.kubeconfigYaml("https://127.0.0.1:" + API_PORT_IN_HOSTS, token));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          return file;
        });
  }

  /** The control plane this runs against. */
  public ControlPlane controlPlane() {
    return controlPlane;
  }

  /** Stops the pods and forwarders (SIGTERM: the agents bow out) and closes the bridge. */
  @Override
  public synchronized void close() {
    pods.values().forEach(p -> p.process().destroy());
    pods.values().forEach(p -> p.stop(Duration.ofSeconds(10)));
    forwarders.values().forEach(LabProcess::close);
    if (bridge != null) bridge.close();
    bridge = null;
  }
}
