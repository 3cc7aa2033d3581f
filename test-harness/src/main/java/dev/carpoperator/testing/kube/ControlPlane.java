package dev.carpoperator.testing.kube;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver (and optionally
 * kube-controller-manager) started as processes from the binaries that {@code
 * scripts/build-control-plane.sh} builds from Go modules. Authentication is a static admin token
 * (group system:masters) and authorization is RBAC, so RBAC, CEL validation, server-side apply,
 * status subresources and watches behave as in a cluster. There are no nodes or kubelets.
 *
 * <p>Tests share one instance per JVM through {@link #shared()}; it stops when the JVM exits.
 *
 * <p>{@link #startForNodes} starts one for real nodes instead ({@link NodeCluster}): inside a
 * network namespace of its own, on an address the nodes reach, with a CA that the kubelets and pods
 * trust, client certificates, Node authorization, the ServiceAccount and NodeRestriction admission,
 * and kube-controller-manager and kube-scheduler beside it. This JVM still reaches it on loopback,
 * through socat and a Unix socket.
 */
public final class ControlPlane implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);
  private static ControlPlane shared;

  /** The API server's port inside the namespace of a control plane for real nodes. */
  public static final int NODES_API_PORT = 6443;

  private final Path binDir;
  private final Path workDir;
  private final String adminToken = UUID.randomUUID().toString();
  private final List<Process> processes = new ArrayList<>();

  /** The command line of each process by name, for {@link #startApiServer} after a stop. */
  private final java.util.Map<String, List<String>> commands = new java.util.HashMap<>();

  private final java.util.Map<String, Process> byName = new java.util.HashMap<>();

  /**
   * For real nodes: the control plane's namespace, its address there, the cluster's certificates;
   * else null.
   */
  private final NetnsLab.Host host;

  private final String address;
  private final ClusterPki pki;
  private final String serviceCidr;
  private int apiPort;
  private Path kubeconfig;
  private Path innerKubeconfig;
  private String etcdForNodes;
  private List<String> sharedApiFlags = List.of();

  private ControlPlane(
      Path binDir,
      Path workDir,
      NetnsLab.Host host,
      String address,
      ClusterPki pki,
      String serviceCidr) {
    this.binDir = binDir;
    this.workDir = workDir;
    this.host = host;
    this.address = address;
    this.pki = pki;
    this.serviceCidr = serviceCidr;
  }

  /** The JVM-wide control plane, started on first use. */
  public static synchronized ControlPlane shared() {
    if (shared == null) {
      shared = start();
      ControlPlane started = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "control-plane-stop"));
    }
    return shared;
  }

  /** Starts a new control plane in a fresh temporary directory. */
  public static ControlPlane start() {
    return start(ControlPlaneBinaries.locate());
  }

  /**
   * The same from the etcd and kube-apiserver in {@code binDir} (e.g. an older Kubernetes: {@link
   * ControlPlaneBinaries#oldest()}).
   */
  public static ControlPlane start(Path binDir) {
    try {
      ControlPlane cp =
          new ControlPlane(
              binDir,
              Files.createTempDirectory("carp-control-plane-"),
              null,
              null,
              null,
              "10.0.0.0/24");
      cp.boot();
      return cp;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A control plane for real nodes in {@code host}'s network namespace, serving on {@code
   * address}:{@value #NODES_API_PORT} with certificates from {@code pki} (which gains the API
   * server's serving and kubelet-client certificates), Services from {@code serviceCidr};
   * kube-controller-manager and kube-scheduler run beside it.
   */
  public static ControlPlane startForNodes(
      Path binDir, NetnsLab.Host host, String address, ClusterPki pki, String serviceCidr) {
    try {
      ControlPlane cp =
          new ControlPlane(
              binDir,
              Files.createTempDirectory("carp-control-plane-"),
              host,
              address,
              pki,
              serviceCidr);
      cp.boot();
      return cp;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void boot() throws IOException {
    Instant t0 = Instant.now();
    boolean forNodes = host != null;
    // In a namespace of its own the ports are the usual ones; on the shared loopback they must be
    // free ones.
    int etcdClientPort = forNodes ? 2379 : freePort();
    int etcdPeerPort = forNodes ? 2380 : freePort();
    int innerApiPort = forNodes ? NODES_API_PORT : freePort();
    apiPort = forNodes ? freePort() : innerApiPort;

    Path etcdData = Files.createDirectories(workDir.resolve("etcd"));
    String etcdUrl = "http://127.0.0.1:" + etcdClientPort;
    // For real nodes also on the control plane's address: API servers on nodes use it
    // (startApiServerOn).
    String etcdListen = forNodes ? etcdUrl + ",http://" + address + ":" + etcdClientPort : etcdUrl;
    etcdForNodes = "http://" + address + ":" + etcdClientPort;
    String peerUrl = "http://127.0.0.1:" + etcdPeerPort;
    launch(
        "etcd",
        List.of(
            binDir.resolve("etcd").toString(),
            "--name=carp-test",
            "--data-dir=" + etcdData,
            "--listen-client-urls=" + etcdListen,
            "--advertise-client-urls=" + etcdUrl,
            "--listen-peer-urls=" + peerUrl,
            "--initial-advertise-peer-urls=" + peerUrl,
            "--initial-cluster=carp-test=" + peerUrl,
            "--unsafe-no-fsync=true", // test data only: fsync makes every write wait for the disk
            "--log-level=warn"));

    KeyPair sa = rsaKeyPair();
    Path saKey = writePem(workDir.resolve("sa.key"), "PRIVATE KEY", sa.getPrivate().getEncoded());
    Path saPub = writePem(workDir.resolve("sa.pub"), "PUBLIC KEY", sa.getPublic().getEncoded());
    Path tokens = workDir.resolve("tokens.csv");
    Files.writeString(tokens, adminToken + ",carp-admin,carp-admin,\"system:masters\"\n");

    // What every API server of this control plane shares (startApiServerOn starts more).
    sharedApiFlags =
        List.of(
            "--token-auth-file=" + tokens,
            "--service-account-key-file=" + saPub,
            "--service-account-signing-key-file=" + saKey,
            "--service-cluster-ip-range=" + serviceCidr,
            "--allow-privileged=true",
            "--profiling=false");
    List<String> api =
        new ArrayList<>(
            List.of(
                binDir.resolve("kube-apiserver").toString(),
                "--etcd-servers=" + etcdUrl,
                "--secure-port=" + innerApiPort));
    api.addAll(sharedApiFlags);
    if (forNodes) {
      String serviceIp = firstServiceIp(serviceCidr);
      pki.server(
          "kube-apiserver",
          List.of(address, "127.0.0.1", serviceIp),
          List.of(
              "kubernetes",
              "kubernetes.default",
              "kubernetes.default.svc",
              "kubernetes.default.svc.cluster.local",
              "localhost"));
      pki.client(
          "kube-apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters");
      api.addAll(nodesApiFlags(address, "kube-apiserver"));
    } else {
      api.addAll(
          List.of(
              "--bind-address=127.0.0.1",
              "--advertise-address=127.0.0.1",
              "--cert-dir=" + workDir.resolve("certs"),
              "--authorization-mode=RBAC",
              "--service-account-issuer=https://127.0.0.1:" + apiPort,
              // No controller-manager creates default ServiceAccounts, and there are no pods to
              // admit.
              "--disable-admission-plugins=ServiceAccount"));
    }
    launch("kube-apiserver", api);
    if (forNodes) {
      // This JVM (and kubectl, helm) reach the API server on loopback: socat here, a Unix socket,
      // socat in the namespace.
      Path socket = workDir.resolve("api.sock");
      launch(
          "api-socket",
          List.of("socat", "UNIX-LISTEN:" + socket + ",fork", "TCP:127.0.0.1:" + innerApiPort));
      processes.add(
          new ProcessBuilder(
                  "socat",
                  "TCP-LISTEN:" + apiPort + ",bind=127.0.0.1,reuseaddr,fork",
                  "UNIX-CONNECT:" + socket)
              .redirectErrorStream(true)
              .redirectOutput(workDir.resolve("api-loopback.log").toFile())
              .start());
    }

    kubeconfig = writeKubeconfig();
    innerKubeconfig = workDir.resolve("kubeconfig-inside");
    Files.writeString(
        innerKubeconfig, kubeconfigYaml("https://127.0.0.1:" + innerApiPort, adminToken));
    awaitReady();
    if (forNodes) {
      launch(
          "kube-controller-manager",
          List.of(
              binDir.resolve("kube-controller-manager").toString(),
              "--kubeconfig=" + innerKubeconfig,
              "--leader-elect=false",
              "--secure-port=0",
              "--controllers=*",
              "--root-ca-file=" + pki.caCert(),
              "--service-account-private-key-file=" + saKey,
              "--use-service-account-credentials=false",
              "--service-cluster-ip-range=" + serviceCidr));
      launch(
          "kube-scheduler",
          List.of(
              binDir.resolve("kube-scheduler").toString(),
              "--kubeconfig=" + innerKubeconfig,
              "--leader-elect=false",
              "--secure-port=0"));
    }
    log.info(
        "control plane ready at {} in {} ms (work dir {})",
        forNodes
            ? "https://"
                + address
                + ":"
                + innerApiPort
                + " in "
                + host.namespace()
                + ", "
                + url()
                + " here"
            : url(),
        Duration.between(t0, Instant.now()).toMillis(),
        workDir);
  }

  /** The first address of a Service range: the {@code kubernetes} Service's cluster IP. */
  static String firstServiceIp(String cidr) {
    String[] parts = cidr.split("/")[0].split("\\.");
    return parts[0] + "." + parts[1] + "." + parts[2] + "." + (Integer.parseInt(parts[3]) + 1);
  }

  /**
   * Starts kube-controller-manager with the given controllers (e.g. "garbagecollector",
   * "daemonset").
   */
  public synchronized void startControllerManager(String... controllers) {
    launch(
        "kube-controller-manager",
        List.of(
            binDir.resolve("kube-controller-manager").toString(),
            "--kubeconfig=" + kubeconfig,
            "--leader-elect=false",
            "--secure-port=0",
            "--controllers=" + String.join(",", controllers),
            "--use-service-account-credentials=false"));
  }

  /**
   * For real nodes: the API server's URL on the nodes' network (what kubelets and kube-proxy use).
   */
  public String nodesUrl() {
    if (host == null) throw new IllegalStateException("this control plane serves loopback only");
    return "https://" + address + ":" + NODES_API_PORT;
  }

  /** The API server's port on 127.0.0.1. */
  public int port() {
    return apiPort;
  }

  /** HTTPS URL of the API server on loopback. */
  public String url() {
    return "https://127.0.0.1:" + apiPort;
  }

  /** A kubeconfig file with admin credentials, for kubectl and for processes started by tests. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  /** Directory holding the binaries, including kubectl. */
  public Path binDir() {
    return binDir;
  }

  /** Directory holding the data, certificates, kubeconfig and logs; deleted by {@link #close()}. */
  public Path workDir() {
    return workDir;
  }

  /**
   * Process ids of the running control-plane processes (etcd, kube-apiserver, ...), e.g. for a
   * lab's state file.
   */
  public synchronized List<Long> pids() {
    return processes.stream().filter(Process::isAlive).map(Process::pid).toList();
  }

  /** A kubeconfig for a client that reaches the API server at {@code server} with {@code token}. */
  public static String kubeconfigYaml(String server, String token) {
    return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: carp-test
          cluster:
            server: %s
            insecure-skip-tls-verify: true
        users:
        - name: carp-user
          user:
            token: %s
        contexts:
        - name: carp-test
          context:
            cluster: carp-test
            user: carp-user
        current-context: carp-test
        """
        .formatted(server, token);
  }

  /** fabric8 configuration with admin (system:masters) credentials. */
  public Config adminConfig() {
    return config(adminToken);
  }

  /**
   * fabric8 configuration authenticating with the given bearer token (e.g. a ServiceAccount token).
   */
  public Config config(String bearerToken) {
    return new ConfigBuilder(Config.empty())
        .withMasterUrl(url())
        .withTrustCerts(true) // self-signed serving certificate on loopback
        .withDisableHostnameVerification(true)
        .withOauthToken(bearerToken)
        .withRequestTimeout(15_000)
        .build();
  }

  /**
   * A token of ServiceAccount {@code namespace/name}, valid for an hour, requested by {@code admin}
   * (TokenRequest; not bound to a pod).
   */
  public static String serviceAccountToken(KubernetesClient admin, String namespace, String name) {
    return admin
        .serviceAccounts()
        .inNamespace(namespace)
        .withName(name)
        .tokenRequest(
            new io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder()
                .withNewSpec()
                .withExpirationSeconds(3600L)
                .endSpec()
                .build())
        .getStatus()
        .getToken();
  }

  /**
   * A client acting as ServiceAccount {@code namespace/name} (see {@link #serviceAccountToken}).
   */
  public KubernetesClient serviceAccountClient(
      KubernetesClient admin, String namespace, String name) {
    return new KubernetesClientBuilder()
        .withConfig(config(serviceAccountToken(admin, namespace, name)))
        .build();
  }

  public KubernetesClient adminClient() {
    return new KubernetesClientBuilder().withConfig(adminConfig()).build();
  }

  /**
   * Runs kubectl against this control plane and returns its standard output; fails with its error
   * output.
   */
  public String kubectl(String... args) {
    List<String> cmd =
        new ArrayList<>(
            List.of(binDir.resolve("kubectl").toString(), "--kubeconfig=" + kubeconfig));
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes());
      String err = new String(p.getErrorStream().readAllBytes());
      if (p.waitFor() != 0)
        throw new IllegalStateException(
            "kubectl " + String.join(" ", args) + " failed: " + err.strip());
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private void launch(String name, List<String> command) {
    // nsenter --net only: the processes share the machine's file system (kubeconfigs, certificates,
    // the socket)
    List<String> cmd = host == null ? command : NetnsLab.inNetOnly(host.namespace(), command);
    try {
      Path logFile = workDir.resolve(name + ".log");
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .start();
      Process before = byName.put(name, p);
      int at = before == null ? -1 : processes.indexOf(before);
      if (at >= 0) processes.set(at, p); // a restart keeps the stop order of close()
      else processes.add(p);
      commands.put(name, command);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + " from " + binDir, e);
    }
  }

  /**
   * Another kube-apiserver, in a node's network namespace, on the same etcd, with the same tokens
   * and service-account keys (as a second control-plane node of a highly available cluster). Its
   * serving certificate also names {@code extraIps} (a virtual address in front of the API
   * servers). It does not join the {@code kubernetes} Service's endpoints, so the pods' traffic to
   * the API is not sent to it. Stop it with {@link LabProcess#stop}.
   */
  public LabProcess startApiServerOn(
      NetnsLab.Host node, String nodeAddress, List<String> extraIps) {
    if (host == null) throw new IllegalStateException("only a control plane for real nodes");
    String name = "kube-apiserver-" + node.name();
    List<String> ips = new ArrayList<>(List.of(nodeAddress, "127.0.0.1"));
    ips.addAll(extraIps);
    pki.server(name, ips, List.of("kubernetes", "kubernetes.default", "localhost"));
    List<String> cmd = new ArrayList<>();
    cmd.add(binDir.resolve("kube-apiserver").toString());
    cmd.add("--etcd-servers=" + etcdForNodes);
    cmd.add("--secure-port=" + NODES_API_PORT);
    cmd.addAll(sharedApiFlags);
    cmd.addAll(nodesApiFlags(nodeAddress, name));
    cmd.add("--endpoint-reconciler-type=none");
    return node.startSharingMounts(name, cmd);
  }

  /**
   * The flags of an API server for real nodes: on every address, the cluster's CA, Node and RBAC
   * authorization; {@code certName} names its serving certificate in the PKI.
   */
  private List<String> nodesApiFlags(String advertiseAddress, String certName) {
    return List.of(
        "--bind-address=0.0.0.0",
        "--advertise-address=" + advertiseAddress,
        "--tls-cert-file=" + pki.cert(certName),
        "--tls-private-key-file=" + pki.key(certName),
        "--client-ca-file=" + pki.caCert(),
        "--kubelet-client-certificate=" + pki.cert("kube-apiserver-kubelet-client"),
        "--kubelet-client-key=" + pki.key("kube-apiserver-kubelet-client"),
        "--kubelet-preferred-address-types=InternalIP",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--service-account-issuer=https://kubernetes.default.svc");
  }

  /**
   * A kubeconfig for the admin that reaches the API at {@code server} (e.g. a virtual address),
   * verifying the server's certificate with the cluster's CA.
   */
  public Path kubeconfigFor(String server) {
    if (pki == null) throw new IllegalStateException("only a control plane for real nodes");
    String yaml =
        kubeconfigYaml(server, adminToken)
            .replace(
                "insecure-skip-tls-verify: true",
                "certificate-authority: \"" + pki.caCert() + "\"");
    try {
      Path file = Files.createTempFile(workDir, "kubeconfig-", ".yaml");
      Files.writeString(file, yaml);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** kubectl run in the control plane's network namespace (a client on the nodes' network). */
  public dev.carpoperator.testing.netns.ExecResult kubectlInside(Path kubeconfig, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(binDir.resolve("kubectl").toString());
    cmd.add("--kubeconfig=" + kubeconfig);
    cmd.add("--request-timeout=15s");
    cmd.addAll(List.of(args));
    return host.execSharingMounts(Duration.ofSeconds(30), cmd.toArray(String[]::new));
  }

  /**
   * An outage of the API: kube-apiserver, then etcd, stopped (SIGTERM, as an administrator or a
   * failing machine would). Everything else keeps running: the controllers, the scheduler, the
   * kubelets and the pods, which retry until {@link #startApiServer}.
   */
  public synchronized void stopApiServer() {
    for (String name : List.of("kube-apiserver", "etcd")) {
      Process p = byName.get(name);
      if (p == null) throw new IllegalStateException(name + " was never started");
      p.destroy();
      try {
        if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    log.info("kube-apiserver and etcd stopped");
  }

  /**
   * Starts etcd (on its data directory: nothing is lost) and kube-apiserver again after {@link
   * #stopApiServer}, with the command lines of the first start; returns once /readyz answers.
   */
  public synchronized void startApiServer() {
    for (String name : List.of("etcd", "kube-apiserver")) {
      Process p = byName.get(name);
      if (p != null && p.isAlive())
        throw new IllegalStateException(name + " is running: stopApiServer first");
      launch(name, commands.get(name));
    }
    awaitReady();
    log.info("kube-apiserver and etcd started again");
  }

  /** Whether kube-apiserver runs (false between {@link #stopApiServer} and its restart). */
  public synchronized boolean apiServerRunning() {
    Process p = byName.get("kube-apiserver");
    return p != null && p.isAlive();
  }

  private void awaitReady() {
    HttpClient http =
        HttpClient.newBuilder()
            .sslContext(trustAll())
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    Instant deadline = Instant.now().plus(STARTUP_TIMEOUT);
    String last = "no answer";
    while (Instant.now().isBefore(deadline)) {
      for (Process p : processes) {
        if (!p.isAlive())
          throw new IllegalStateException(
              "a control-plane process exited early ("
                  + p.info().command().orElse("?")
                  + ")\n"
                  + logTails());
      }
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(url() + "/readyz"))
                    .header("Authorization", "Bearer " + adminToken)
                    .timeout(Duration.ofSeconds(2))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) return;
        last = r.statusCode() + " " + r.body();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      sleep(250);
    }
    close();
    throw new IllegalStateException(
        "kube-apiserver not ready after " + STARTUP_TIMEOUT + ": " + last + "\n" + logTails());
  }

  private String logTails() {
    StringBuilder sb = new StringBuilder();
    try (Stream<Path> logs = Files.list(workDir)) {
      for (Path l : logs.filter(p -> p.toString().endsWith(".log")).toList()) {
        List<String> lines = Files.readAllLines(l);
        sb.append("--- ")
            .append(l.getFileName())
            .append('\n')
            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size())))
            .append('\n');
      }
    } catch (IOException e) {
      sb.append(e);
    }
    return sb.toString();
  }

  private Path writeKubeconfig() throws IOException {
    Path file = workDir.resolve("kubeconfig");
    Files.writeString(file, kubeconfigYaml(url(), adminToken));
    return file;
  }

  private static Path writePem(Path file, String type, byte[] der) throws IOException {
    String body = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der);
    Files.writeString(
        file, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n");
    return file;
  }

  private static KeyPair rsaKeyPair() {
    try {
      return KeyPairGenerator.getInstance("RSA").generateKeyPair();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no RSA key generator", e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static SSLContext trustAll() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(
          null,
          new TrustManager[] {
            new X509TrustManager() {
              public void checkClientTrusted(X509Certificate[] chain, String authType) {}

              public void checkServerTrusted(X509Certificate[] chain, String authType) {}

              public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
              }
            }
          },
          new SecureRandom());
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Sleeps; an interrupt becomes an IllegalStateException (the harness's waits are not
   * cancellable).
   */
  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public synchronized void close() {
    // Stop in reverse order: the API server before etcd.
    for (int i = processes.size() - 1; i >= 0; i--) {
      Process p = processes.get(i);
      p.destroy();
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    processes.clear();
    byName.clear();
    if (!Boolean.getBoolean("carp.keepControlPlaneDir")) deleteTree(workDir);
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) return;
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("could not delete {}: {}", dir, e.toString());
    }
  }
}
