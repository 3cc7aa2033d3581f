package dev.carpoperator.operator.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * helm install, upgrade and uninstall of the chart against a real kube-apiserver (a control plane
 * of its own, so the release owns every object it creates). No kubelet runs here, so the Deployment
 * gets no pod: the test plays the kubelet and starts OperatorMain as a process with exactly the
 * installed Deployment's environment and a token of the ServiceAccount the Deployment names. The
 * operator then has to do its job with the chart's RBAC: agent DaemonSet, VirtualAddress status,
 * leader election Lease. Uninstall keeps the CRDs and the resources.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HelmReleaseOnRealApiServerTest {
  static final String NS = "carp-system";

  /** The agents' namespace the chart creates (agent.namespace's default). */
  static final String AGENTS = "carp-agents";

  static final String POD = "carp-operator-7d9c6b5f4-x2x4z";
  static final Duration WAIT = Duration.ofSeconds(45);

  @TempDir static Path work;
  static ControlPlane controlPlane;
  static KubernetesClient admin;
  static Helm helm;
  static String appVersion;
  static int operatorPort;
  static OperatorProcess operator;

  @BeforeAll
  static void startControlPlane() throws IOException {
    controlPlane = ControlPlane.start();
    admin = new KubernetesClientBuilder().withConfig(controlPlane.adminConfig()).build();
    helm = new Helm(work.resolve("helm-home"), controlPlane.kubeconfig());
    appVersion = ChartFacts.yaml(Helm.chart().resolve("Chart.yaml")).path("appVersion").asText();
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      operatorPort = s.getLocalPort();
    }
  }

  @AfterAll
  static void stop() {
    if (operator != null) operator.stop();
    if (admin != null) admin.close();
    if (controlPlane != null) controlPlane.close();
  }

  @Test
  @Order(1)
  void installCreatesTheCrdsTheOperatorAndItsLeastPrivilegeRbac() throws IOException {
    String out =
        helm.ok(
            "install",
            "carp",
            Helm.chart().toString(),
            "--namespace",
            NS,
            "--create-namespace",
            "--set",
            "operator.port=" + operatorPort,
            "--set",
            "agent.image.repository=registry.test/carp-agent",
            "--set",
            "agent.resources.requests.cpu=30m");
    assertThat(out)
        .contains(
            "STATUS: deployed",
            "REVISION: 1",
            "The agents run in namespace carp-agents, created by the chart with Pod Security \"privileged\"",
            "kubectl get fwc,va")
        .doesNotContain("kubectl label namespace");
    var agents = admin.namespaces().withName(AGENTS).get();
    assertThat(agents.getMetadata().getLabels())
        .containsEntry("pod-security.kubernetes.io/enforce", "privileged");
    assertThat(admin.namespaces().withName(NS).get().getMetadata().getLabels())
        .as("the operator's namespace needs no exception")
        .doesNotContainKey("pod-security.kubernetes.io/enforce");
    assertThat(release().path("info").path("status").asText()).isEqualTo("deployed");

    for (String crd :
        List.of("firewallclusters.carp-operator.dev", "virtualaddresses.carp-operator.dev")) {
      var installed =
          admin
              .apiextensions()
              .v1()
              .customResourceDefinitions()
              .withName(crd)
              .waitUntilCondition(
                  c ->
                      c != null
                          && c.getStatus() != null
                          && c.getStatus().getConditions().stream()
                              .anyMatch(
                                  x ->
                                      "Established".equals(x.getType())
                                          && "True".equals(x.getStatus())),
                  30,
                  TimeUnit.SECONDS);
      assertThat(installed.getMetadata().getAnnotations())
          .containsEntry("helm.sh/resource-policy", "keep")
          .containsEntry("meta.helm.sh/release-name", "carp");
    }
    assertThat(admin.apps().deployments().inNamespace(NS).withName("carp-operator").get())
        .isNotNull();
    assertThat(admin.services().inNamespace(NS).withName("carp-operator-metrics").get())
        .isNotNull();

    // The live RBAC is deploy/rbac, object for object.
    int checked = 0;
    for (String file : List.of("operator.yaml", "agent.yaml")) {
      try (InputStream in =
          Files.newInputStream(Helm.repositoryRoot().resolve("deploy/rbac").resolve(file))) {
        for (HasMetadata expected : admin.load(in).items()) {
          HasMetadata live = admin.resource(expected).get();
          assertThat(live)
              .as(
                  "%s %s of deploy/rbac/%s",
                  expected.getKind(), expected.getMetadata().getName(), file)
              .isNotNull();
          assertThat(live.getMetadata().getLabels())
              .containsEntry("app.kubernetes.io/managed-by", "Helm");
          switch (expected) {
            case ClusterRole r ->
                assertThat(((ClusterRole) live).getRules()).isEqualTo(r.getRules());
            case Role r -> assertThat(((Role) live).getRules()).isEqualTo(r.getRules());
            case ClusterRoleBinding b ->
                assertThat(((ClusterRoleBinding) live).getSubjects()).isEqualTo(b.getSubjects());
            case RoleBinding b ->
                assertThat(((RoleBinding) live).getSubjects()).isEqualTo(b.getSubjects());
            default -> {}
          }
          checked++;
        }
      }
    }
    assertThat(checked).isEqualTo(16);
  }

  @Test
  @Order(2)
  void theOperatorRunsFromTheInstalledDeploymentWithItsServiceAccountToken() throws Exception {
    operator = OperatorProcess.start(deployment(), "first");

    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("helm-edge").build());
    admin.resource(fwc).create();
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName("helm-edge-lan").build());
    va.getSpec().setCluster("helm-edge");
    va.getSpec().setVhid(7);
    va.getSpec().setAddresses(List.of("192.0.2.7/24"));
    admin.resource(va).create();

    DaemonSet ds =
        await()
            .atMost(WAIT)
            .until(
                () ->
                    admin
                        .apps()
                        .daemonSets()
                        .inNamespace(AGENTS)
                        .withName("carp-agent-helm-edge")
                        .get(),
                d -> d != null);
    var agent = ds.getSpec().getTemplate().getSpec().getContainers().getFirst();
    assertThat(agent.getImage()).isEqualTo("registry.test/carp-agent:" + appVersion);
    assertThat(agent.getResources().getRequests()).containsEntry("cpu", new Quantity("30m"));
    assertThat(ds.getSpec().getTemplate().getSpec().getServiceAccountName())
        .isEqualTo("carp-agent");
    assertThat(admin.serviceAccounts().inNamespace(AGENTS).withName("carp-agent").get())
        .as("the agents' ServiceAccount, from the chart")
        .isNotNull();
    await()
        .atMost(WAIT)
        .until(
            () -> {
              VirtualAddress v =
                  admin.resources(VirtualAddress.class).withName("helm-edge-lan").get();
              return v.getStatus() != null
                  && Integer.valueOf(7).equals(v.getStatus().getVhid())
                  && !v.getStatus().getConditions().isEmpty();
            });
    assertThat(
            admin
                .leases()
                .inNamespace(NS)
                .withName("carp-operator")
                .get()
                .getSpec()
                .getHolderIdentity())
        .isEqualTo(POD);

    // Least privilege: the chart's operator account cannot read Secrets.
    try (KubernetesClient asOperator =
        new KubernetesClientBuilder().withConfig(controlPlane.config(operator.token)).build()) {
      for (String ns : List.of(NS, AGENTS)) {
        assertThatThrownBy(() -> asOperator.secrets().inNamespace(ns).list())
            .isInstanceOf(KubernetesClientException.class)
            .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
      }
    }

    // What the chart's ServiceMonitor scrapes, with the JOSDK metrics the dashboard graphs.
    String metrics = operator.get("/metrics").body();
    JsonNode dashboard = ChartFacts.json(Helm.chart().resolve("files/grafana/carp-operator.json"));
    int checked = 0;
    for (String expr : ChartFacts.dashboardExpressions(dashboard)) {
      List<String> labels = new ArrayList<>();
      Matcher by = Pattern.compile("by \\(([^)]*)\\)").matcher(expr);
      while (by.find())
        for (String l : by.group(1).split(","))
          if (!l.isBlank() && !l.strip().equals("le")) labels.add(l.strip());
      for (String m : ChartFacts.referencedMetrics(expr)) {
        if (!m.startsWith("operator_sdk_") || m.contains("failed"))
          continue; // failed: exported once a reconciliation failed
        assertThat(metrics.lines().filter(l -> l.startsWith(m + "{")).toList())
            .as("%s in the operator's /metrics", m)
            .isNotEmpty()
            .allSatisfy(
                line ->
                    assertThat(line)
                        .as("labels the dashboard groups %s by", m)
                        .contains(labels.stream().map(l -> l + "=\"").toList()));
        checked++;
      }
    }
    assertThat(checked).isPositive();
    assertThat(metrics).contains("carp_operator_events_total{");
  }

  @Test
  @Order(3)
  void upgradeChangesTheConfigurationTheOperatorRestartsWith() throws Exception {
    String out =
        helm.ok(
            "upgrade",
            "carp",
            Helm.chart().toString(),
            "--namespace",
            NS,
            "--reuse-values",
            "--set",
            "agent.image.tag=0.1.1-test",
            "--set",
            "operator.logLevel=debug",
            "--set",
            "commonLabels.team=network");
    assertThat(out).contains("STATUS: deployed", "REVISION: 2");
    Deployment upgraded = deployment();
    assertThat(upgraded.getMetadata().getLabels()).containsEntry("team", "network");
    assertThat(upgraded.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv())
        .anySatisfy(
            e ->
                assertThat(e.getName() + "=" + e.getValue())
                    .isEqualTo("CARP_AGENT_IMAGE=registry.test/carp-agent:0.1.1-test"))
        .anySatisfy(
            e -> assertThat(e.getName() + "=" + e.getValue()).isEqualTo("CARP_LOG_LEVEL=debug"));
    assertThat(
            admin
                .apiextensions()
                .v1()
                .customResourceDefinitions()
                .withName("firewallclusters.carp-operator.dev")
                .get()
                .getMetadata()
                .getLabels())
        .containsEntry("team", "network");

    // A rollout: the old pod stops, the new one starts with the upgraded environment and updates
    // the agents.
    operator.stop();
    operator = OperatorProcess.start(upgraded, "upgraded");
    await()
        .atMost(WAIT)
        .until(
            () ->
                admin
                    .apps()
                    .daemonSets()
                    .inNamespace(AGENTS)
                    .withName("carp-agent-helm-edge")
                    .get()
                    .getSpec()
                    .getTemplate()
                    .getSpec()
                    .getContainers()
                    .getFirst()
                    .getImage(),
            ("registry.test/carp-agent:0.1.1-test")::equals);
    assertThat(Files.readString(operator.log)).contains("DEBUG");
  }

  @Test
  @Order(4)
  void anOperatorThatLosesTheLeaseExitsSoThatItsRestartCampaignsAgain() throws Exception {
    var lease = admin.leases().inNamespace(NS).withName("carp-operator").get();
    assertThat(lease.getSpec().getHolderIdentity()).isEqualTo(POD);
    lease.getSpec().setHolderIdentity("carp-operator-other");
    lease.getSpec().setRenewTime(ZonedDateTime.now(ZoneOffset.UTC));
    lease.getSpec().setLeaseDurationSeconds(300);
    admin.resource(lease).update();
    // JOSDK's renew deadline is 10 s; then it stops leading and the process must end (exit status
    // 1).
    assertThat(operator.process.waitFor(40, TimeUnit.SECONDS))
        .as("the operator exits after losing its lease")
        .isTrue();
    assertThat(operator.process.exitValue()).isEqualTo(1);
    assertThat(Files.readString(operator.log)).contains("lost the leadership of carp-operator");
  }

  @Test
  @Order(5)
  void uninstallRemovesTheReleaseButKeepsTheCrdsAndTheResources() {
    operator.stop();
    String out = helm.ok("uninstall", "carp", "--namespace", NS);
    assertThat(out)
        .contains(
            "These resources were kept due to the resource policy",
            "CustomResourceDefinition",
            "release \"carp\" uninstalled");

    assertThat(admin.apps().deployments().inNamespace(NS).withName("carp-operator").get()).isNull();
    assertThat(admin.services().inNamespace(NS).withName("carp-operator-metrics").get()).isNull();
    assertThat(admin.serviceAccounts().inNamespace(NS).list().getItems())
        .noneMatch(sa -> sa.getMetadata().getName().startsWith("carp-"));
    assertThat(admin.serviceAccounts().inNamespace(AGENTS).list().getItems())
        .noneMatch(sa -> sa.getMetadata().getName().startsWith("carp-"));
    assertThat(admin.namespaces().withName(AGENTS).get())
        .as("kept: it holds the agents and their Secrets")
        .isNotNull();
    assertThat(admin.rbac().clusterRoles().withName("carp-operator").get()).isNull();
    assertThat(admin.rbac().clusterRoles().withName("carp-agent").get()).isNull();
    assertThat(admin.rbac().clusterRoleBindings().withName("carp-operator").get()).isNull();
    assertThat(admin.rbac().roles().inNamespace("default").withName("carp-operator-events").get())
        .isNull();
    assertThat(admin.rbac().roles().inNamespace(NS).list().getItems()).isEmpty();
    assertThat(admin.rbac().roles().inNamespace(AGENTS).list().getItems()).isEmpty();
    assertThat(helm.ok("list", "--namespace", NS, "--short").strip()).isEmpty();

    assertThat(
            admin
                .apiextensions()
                .v1()
                .customResourceDefinitions()
                .withName("firewallclusters.carp-operator.dev")
                .get())
        .isNotNull();
    assertThat(
            admin
                .apiextensions()
                .v1()
                .customResourceDefinitions()
                .withName("virtualaddresses.carp-operator.dev")
                .get())
        .isNotNull();
    assertThat(admin.resources(FirewallCluster.class).withName("helm-edge").get())
        .as("resources survive")
        .isNotNull();
    assertThat(admin.resources(VirtualAddress.class).withName("helm-edge-lan").get()).isNotNull();

    // Installing again adopts the kept CRDs.
    assertThat(helm.ok("install", "carp", Helm.chart().toString(), "--namespace", NS))
        .contains("STATUS: deployed");
  }

  static Deployment deployment() {
    return admin.apps().deployments().inNamespace(NS).withName("carp-operator").get();
  }

  static JsonNode release() throws IOException {
    return Helm.JSON.readTree(helm.ok("status", "carp", "--namespace", NS, "-o", "json"));
  }

  /**
   * The operator as the kubelet would run the Deployment's container: OperatorMain in its own JVM,
   * with the container's environment (downward API resolved) and the ServiceAccount's token,
   * nothing else.
   */
  static final class OperatorProcess {
    final Process process;
    final Path log;
    final String token;
    final int port;

    private OperatorProcess(Process process, Path log, String token, int port) {
      this.process = process;
      this.log = log;
      this.token = token;
      this.port = port;
    }

    static OperatorProcess start(Deployment deployment, String name) throws Exception {
      var podSpec = deployment.getSpec().getTemplate().getSpec();
      var container = podSpec.getContainers().getFirst();
      Map<String, String> env =
          ChartFacts.resolvedEnv(
              Serialization.jsonMapper().valueToTree(container),
              deployment.getMetadata().getNamespace(),
              POD);
      String token =
          ControlPlane.serviceAccountToken(
              admin, deployment.getMetadata().getNamespace(), podSpec.getServiceAccountName());
      Path dir = Files.createDirectories(work.resolve("operator-" + name));
      Path kubeconfig =
          Files.writeString(
              dir.resolve("kubeconfig"), ControlPlane.kubeconfigYaml(controlPlane.url(), token));

      List<String> cmd =
          new ArrayList<>(
              List.of(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  "dev.carpoperator.operator.OperatorMain"));
      if (container.getArgs() != null) cmd.addAll(container.getArgs());
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().clear();
      pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
      pb.environment().put("HOME", dir.toString());
      pb.environment().putAll(env);
      pb.environment()
          .put(
              "KUBECONFIG", kubeconfig.toString()); // in a pod: the mounted token; here: this token
      Path log = dir.resolve("operator.log");
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      int port = Integer.parseInt(env.get("CARP_HEALTH_PORT"));
      OperatorProcess op = new OperatorProcess(pb.start(), log, token, port);
      try {
        await()
            .atMost(WAIT)
            .pollInterval(Duration.ofMillis(200))
            .until(
                () -> {
                  if (!op.process.isAlive())
                    throw new AssertionError(
                        "the operator exited " + op.process.exitValue() + ":\n" + op.logTail());
                  try {
                    return op.get("/readyz").statusCode() == 200
                        && op.get("/healthz").statusCode() == 200;
                  } catch (IOException e) {
                    return false;
                  }
                });
      } catch (RuntimeException | AssertionError e) {
        op.stop();
        throw new AssertionError(
            "the operator did not become ready on port " + port + ":\n" + op.logTail(), e);
      }
      return op;
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
      try (HttpClient http =
          HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
        return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
      }
    }

    String logTail() {
      try {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    void stop() {
      if (!process.isAlive()) return;
      process.destroy(); // SIGTERM, as the kubelet does: the shutdown hook stops the operator
      try {
        // The chart gives the pod terminationGracePeriodSeconds (30 s) before the kubelet kills it.
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          new ProcessBuilder("kill", "-QUIT", Long.toString(process.pid()))
              .start()
              .waitFor(); // thread dump into the log
          Thread.sleep(500);
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
          throw new AssertionError(
              "the operator did not stop within 20 s of SIGTERM:\n" + logTail());
        }
        assertThat(process.exitValue()).as("exit status after SIGTERM").isEqualTo(143);
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
