package dev.carpoperator.testing.kube;

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
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver (and optionally kube-controller-manager)
 * started as processes from the binaries that {@code scripts/build-control-plane.sh} builds from Go modules.
 * Authentication is a static admin token (group system:masters) and authorization is RBAC, so RBAC, CEL validation,
 * server-side apply, status subresources and watches behave as in a cluster. There are no nodes or kubelets.
 *
 * <p>Tests share one instance per JVM through {@link #shared()}; it stops when the JVM exits.
 */
public final class ControlPlane implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);
  private static ControlPlane shared;

  private final Path binDir;
  private final Path workDir;
  private final String adminToken = UUID.randomUUID().toString();
  private final List<Process> processes = new ArrayList<>();
  private int apiPort;
  private Path kubeconfig;

  private ControlPlane(Path binDir, Path workDir) {
    this.binDir = binDir;
    this.workDir = workDir;
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
    try {
      ControlPlane cp = new ControlPlane(ControlPlaneBinaries.locate(), Files.createTempDirectory("carp-control-plane-"));
      cp.boot();
      return cp;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void boot() throws IOException {
    Instant t0 = Instant.now();
    int etcdClientPort = freePort();
    int etcdPeerPort = freePort();
    apiPort = freePort();

    Path etcdData = Files.createDirectories(workDir.resolve("etcd"));
    String etcdUrl = "http://127.0.0.1:" + etcdClientPort;
    String peerUrl = "http://127.0.0.1:" + etcdPeerPort;
    launch("etcd", List.of(binDir.resolve("etcd").toString(),
        "--name=carp-test", "--data-dir=" + etcdData,
        "--listen-client-urls=" + etcdUrl, "--advertise-client-urls=" + etcdUrl,
        "--listen-peer-urls=" + peerUrl, "--initial-advertise-peer-urls=" + peerUrl,
        "--initial-cluster=carp-test=" + peerUrl,
        "--unsafe-no-fsync=true", // test data only: fsync makes every write wait for the disk
        "--log-level=warn"));

    KeyPair sa = rsaKeyPair();
    Path saKey = writePem(workDir.resolve("sa.key"), "PRIVATE KEY", sa.getPrivate().getEncoded());
    Path saPub = writePem(workDir.resolve("sa.pub"), "PUBLIC KEY", sa.getPublic().getEncoded());
    Path tokens = workDir.resolve("tokens.csv");
    Files.writeString(tokens, adminToken + ",carp-admin,carp-admin,\"system:masters\"\n");

    launch("kube-apiserver", List.of(binDir.resolve("kube-apiserver").toString(),
        "--etcd-servers=" + etcdUrl,
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + apiPort,
        "--cert-dir=" + workDir.resolve("certs"),
        "--token-auth-file=" + tokens,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://127.0.0.1:" + apiPort,
        "--service-account-key-file=" + saPub, "--service-account-signing-key-file=" + saKey,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        // No controller-manager creates default ServiceAccounts, and there are no pods to admit.
        "--disable-admission-plugins=ServiceAccount",
        "--profiling=false"));

    kubeconfig = writeKubeconfig();
    awaitReady();
    log.info("control plane ready at https://127.0.0.1:{} in {} ms (work dir {})", apiPort,
        Duration.between(t0, Instant.now()).toMillis(), workDir);
  }

  /** Starts kube-controller-manager with the given controllers (e.g. "garbagecollector", "daemonset"). */
  public synchronized void startControllerManager(String... controllers) {
    launch("kube-controller-manager", List.of(binDir.resolve("kube-controller-manager").toString(),
        "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--secure-port=0",
        "--controllers=" + String.join(",", controllers), "--use-service-account-credentials=false"));
  }

  /** The API server's port on 127.0.0.1. */
  public int port() { return apiPort; }

  /** HTTPS URL of the API server on loopback. */
  public String url() { return "https://127.0.0.1:" + apiPort; }

  /** A kubeconfig file with admin credentials, for kubectl and for processes started by tests. */
  public Path kubeconfig() { return kubeconfig; }

  /** Directory holding the binaries, including kubectl. */
  public Path binDir() { return binDir; }

  /** Directory holding the data, certificates, kubeconfig and logs; deleted by {@link #close()}. */
  public Path workDir() { return workDir; }

  /** Process ids of the running control-plane processes (etcd, kube-apiserver, ...), e.g. for a lab's state file. */
  public synchronized List<Long> pids() { return processes.stream().filter(Process::isAlive).map(Process::pid).toList(); }

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
        """.formatted(server, token);
  }

  /** fabric8 configuration with admin (system:masters) credentials. */
  public Config adminConfig() { return config(adminToken); }

  /** fabric8 configuration authenticating with the given bearer token (e.g. a ServiceAccount token). */
  public Config config(String bearerToken) {
    return new ConfigBuilder(Config.empty())
        .withMasterUrl(url())
        .withTrustCerts(true) // self-signed serving certificate on loopback
        .withDisableHostnameVerification(true)
        .withOauthToken(bearerToken)
        .withRequestTimeout(15_000)
        .build();
  }

  public KubernetesClient adminClient() {
    return new KubernetesClientBuilder().withConfig(adminConfig()).build();
  }

  /** Runs kubectl against this control plane and returns its standard output; fails with its error output. */
  public String kubectl(String... args) {
    List<String> cmd = new ArrayList<>(List.of(binDir.resolve("kubectl").toString(), "--kubeconfig=" + kubeconfig));
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes());
      String err = new String(p.getErrorStream().readAllBytes());
      if (p.waitFor() != 0) throw new IllegalStateException("kubectl " + String.join(" ", args) + " failed: " + err.strip());
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private void launch(String name, List<String> command) {
    try {
      Path logFile = workDir.resolve(name + ".log");
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
      processes.add(p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + " from " + binDir, e);
    }
  }

  private void awaitReady() {
    HttpClient http = HttpClient.newBuilder().sslContext(trustAll()).connectTimeout(Duration.ofSeconds(2)).build();
    Instant deadline = Instant.now().plus(STARTUP_TIMEOUT);
    String last = "no answer";
    while (Instant.now().isBefore(deadline)) {
      for (Process p : processes) {
        if (!p.isAlive()) throw new IllegalStateException("a control-plane process exited early (" + p.info().command().orElse("?") + ")\n" + logTails());
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/readyz"))
            .header("Authorization", "Bearer " + adminToken).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
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
    throw new IllegalStateException("kube-apiserver not ready after " + STARTUP_TIMEOUT + ": " + last + "\n" + logTails());
  }

  private String logTails() {
    StringBuilder sb = new StringBuilder();
    try (Stream<Path> logs = Files.list(workDir)) {
      for (Path l : logs.filter(p -> p.toString().endsWith(".log")).toList()) {
        List<String> lines = Files.readAllLines(l);
        sb.append("--- ").append(l.getFileName()).append('\n')
            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()))).append('\n');
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
    Files.writeString(file, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n");
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
      ctx.init(null, new TrustManager[] {new X509TrustManager() {
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}
        public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
      }}, new SecureRandom());
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void sleep(long ms) {
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
