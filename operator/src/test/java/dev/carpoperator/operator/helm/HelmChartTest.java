package dev.carpoperator.operator.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterSpec;
import dev.carpoperator.api.v1alpha1.LoadBalancing;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.operator.cluster.AgentDaemonSets;
import dev.carpoperator.testing.kube.Helm;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart without a cluster: helm lint --strict, the objects helm template renders (CRDs and RBAC
 * exactly the repository's, the operator's configuration as OperatorSettings reads it, the
 * monitoring objects), the schema's messages, versions and image names, the chart's copies of crds/
 * and deploy/rbac/, and the values reference in docs/install.md. Installing, upgrading and
 * uninstalling are {@link HelmReleaseOnRealApiServerTest}.
 */
class HelmChartTest {
  static final String[] MONITORING_APIS = {
    "--api-versions",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "--api-versions",
    "monitoring.coreos.com/v1/PodMonitor",
    "--api-versions",
    "monitoring.coreos.com/v1/PrometheusRule"
  };
  static final Set<String> STANDARD_LABELS =
      Set.of(
          "app.kubernetes.io/name",
          "app.kubernetes.io/instance",
          "app.kubernetes.io/version",
          "app.kubernetes.io/managed-by",
          "app.kubernetes.io/component",
          "app.kubernetes.io/part-of",
          "helm.sh/chart");
  static final List<String> ALERTS =
      List.of(
          "CarpNoMaster",
          "CarpMultipleMasters",
          "CarpAuthenticationFailures",
          "CarpSyncAuthenticationFailures",
          "CarpSyncBehind",
          "CarpSyncBulkUpdateTimedOut");

  @TempDir static Path home;
  static Helm helm;
  static JsonNode chartYaml;
  static JsonNode values;

  @BeforeAll
  static void locateHelm() {
    helm = new Helm(home, null);
    chartYaml = ChartFacts.yaml(Helm.chart().resolve("Chart.yaml"));
    values = ChartFacts.yaml(Helm.chart().resolve("values.yaml"));
  }

  static List<JsonNode> render(String namespace, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of("template", "carp", Helm.chart().toString(), "--namespace", namespace));
    args.addAll(List.of(extra));
    return Helm.documents(helm.ok(args.toArray(String[]::new)));
  }

  static JsonNode find(List<JsonNode> objects, String kind, String name) {
    return objects.stream()
        .filter(
            o ->
                kind.equals(o.path("kind").asText())
                    && name.equals(o.path("metadata").path("name").asText()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + kinds(objects)));
  }

  static List<String> kinds(List<JsonNode> objects) {
    return objects.stream()
        .map(
            o ->
                o.path("kind").asText()
                    + " "
                    + o.path("metadata").path("namespace").asText("-")
                    + "/"
                    + o.path("metadata").path("name").asText())
        .sorted()
        .toList();
  }

  static String appVersion() {
    return chartYaml.path("appVersion").asText();
  }

  @Test
  void lintsStrictWithDefaultAndNonDefaultValues() {
    assertThat(helm.ok("lint", "--strict", Helm.chart().toString())).contains("0 chart(s) failed");
    assertThat(
            helm.ok(
                "lint",
                "--strict",
                Helm.chart().toString(),
                "--namespace",
                "ha-system",
                "--set",
                "crds.keep=false,metrics.service.enabled=false,grafanaDashboard.enabled=true,operator.replicas=2",
                "--set",
                "operator.podDisruptionBudget.enabled=true,operator.logFormat=text,agent.priorityClassName=system-node-critical",
                "--set",
                "imagePullSecrets[0].name=regcred,commonLabels.team=net,commonAnnotations.owner=net",
                "--set",
                "operator.image.digest=sha256:" + "a".repeat(64)))
        .contains("0 chart(s) failed");
  }

  @Test
  void defaultsRenderTheOperatorItsAccountsAndRbacAndTheCrds() {
    List<JsonNode> objects = render("carp-system");
    assertThat(kinds(objects))
        .containsExactlyInAnyOrder(
            "ClusterRole -/carp-agent",
            "ClusterRole -/carp-operator",
            "ClusterRoleBinding -/carp-agent",
            "ClusterRoleBinding -/carp-operator",
            "CustomResourceDefinition -/addresspools.carp-operator.dev",
            "CustomResourceDefinition -/firewallclusters.carp-operator.dev",
            "CustomResourceDefinition -/virtualaddresses.carp-operator.dev",
            "Deployment carp-system/carp-operator",
            "Namespace -/carp-agents",
            "Role carp-agents/carp-agent-heartbeat",
            "Role carp-agents/carp-agent-secrets",
            "Role carp-system/carp-operator",
            "Role carp-agents/carp-operator-agents",
            "Role default/carp-operator-events",
            "RoleBinding carp-agents/carp-agent-heartbeat",
            "RoleBinding carp-agents/carp-agent-secrets",
            "RoleBinding carp-system/carp-operator",
            "RoleBinding carp-agents/carp-operator-agents",
            "RoleBinding default/carp-operator-events",
            "Service carp-system/carp-operator-metrics",
            "ServiceAccount carp-agents/carp-agent",
            "ServiceAccount carp-system/carp-operator",
            "ValidatingAdmissionPolicy -/carp-operator-agent-heartbeat",
            "ValidatingAdmissionPolicy -/carp-operator-agent-status",
            "ValidatingAdmissionPolicyBinding -/carp-operator-agent-heartbeat",
            "ValidatingAdmissionPolicyBinding -/carp-operator-agent-status");
    for (JsonNode o : objects) {
      JsonNode labels = o.path("metadata").path("labels");
      assertThat(labels.properties().stream().map(Map.Entry::getKey).toList())
          .as("labels of %s %s", o.path("kind").asText(), o.path("metadata").path("name").asText())
          .containsAll(STANDARD_LABELS);
      assertThat(labels.path("app.kubernetes.io/managed-by").asText()).isEqualTo("Helm");
      assertThat(labels.path("app.kubernetes.io/instance").asText()).isEqualTo("carp");
      assertThat(labels.path("app.kubernetes.io/version").asText()).isEqualTo(appVersion());
    }

    JsonNode deployment = find(objects, "Deployment", "carp-operator");
    JsonNode pod = deployment.path("spec").path("template").path("spec");
    JsonNode container = pod.path("containers").get(0);
    assertThat(pod.path("serviceAccountName").asText()).isEqualTo("carp-operator");
    assertThat(container.path("image").asText())
        .isEqualTo("ghcr.io/carp-operator/carp-operator:" + appVersion());
    assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(container.path("securityContext").path("readOnlyRootFilesystem").asBoolean())
        .isTrue();
    assertThat(container.path("securityContext").path("allowPrivilegeEscalation").asBoolean(true))
        .isFalse();
    assertThat(container.path("securityContext").path("capabilities").path("drop").toString())
        .isEqualTo("[\"ALL\"]");
    assertThat(container.path("livenessProbe").path("httpGet").path("path").asText())
        .isEqualTo("/healthz");
    assertThat(container.path("readinessProbe").path("httpGet").path("path").asText())
        .isEqualTo("/readyz");
    assertThat(deployment.path("spec").path("selector").path("matchLabels").properties())
        .allSatisfy(
            l ->
                assertThat(
                        deployment
                            .path("spec")
                            .path("template")
                            .path("metadata")
                            .path("labels")
                            .path(l.getKey())
                            .asText())
                    .isEqualTo(l.getValue().asText()));

    // What the operator reads from that environment: the chart's defaults are the operator's
    // built-in defaults.
    OperatorSettings settings =
        OperatorSettings.fromEnvironment(
            ChartFacts.resolvedEnv(container, "carp-system", "carp-operator-0"));
    assertThat(settings.namespace()).isEqualTo("carp-system");
    assertThat(settings.agentNamespace()).isEqualTo("carp-agents");
    assertThat(settings.identity()).isEqualTo("carp-operator-0");
    assertThat(settings.leaderElection()).isTrue();
    assertThat(settings.healthPort())
        .isEqualTo(container.path("ports").get(0).path("containerPort").asInt());
    assertThat(settings.agentImage()).isEqualTo(OperatorSettings.DEFAULT_AGENT_IMAGE);
    assertThat(settings.imagePullPolicy()).isEqualTo("IfNotPresent");
    assertThat(settings.agentDefaults()).isEqualTo(OperatorSettings.AgentDefaults.BUILT_IN);
    assertThat(settings.loadBalancerClass()).isEqualTo(LoadBalancing.DEFAULT_CLASS);
    assertThat(settings.loadBalancerDefault()).isFalse();

    JsonNode service = find(objects, "Service", "carp-operator-metrics");
    assertThat(service.path("spec").path("selector"))
        .isEqualTo(deployment.path("spec").path("selector").path("matchLabels"));
    assertThat(service.path("spec").path("ports").get(0).path("targetPort").asText())
        .isEqualTo(container.path("ports").get(0).path("name").asText());
  }

  @Test
  void agentValuesReachTheAgentDaemonSetThroughTheOperatorsEnvironment() {
    JsonNode container =
        find(
                render(
                    "carp-system",
                    "--set",
                    "agent.image.repository=registry.example/carp-agent,agent.image.tag=9.9.9",
                    "--set",
                    "agent.image.pullPolicy=Always",
                    "--set",
                    "agent.priorityClassName=system-node-critical,agent.resources.requests.cpu=50m,agent.resources.limits.memory=256Mi"),
                "Deployment",
                "carp-operator")
            .path("spec")
            .path("template")
            .path("spec")
            .path("containers")
            .get(0);
    OperatorSettings settings =
        OperatorSettings.fromEnvironment(ChartFacts.resolvedEnv(container, "carp-system", "p"));
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    fwc.setSpec(new FirewallClusterSpec());
    DaemonSet ds = AgentDaemonSets.desired(fwc, settings);
    var agent = ds.getSpec().getTemplate().getSpec().getContainers().getFirst();
    assertThat(agent.getImage()).isEqualTo("registry.example/carp-agent:9.9.9");
    assertThat(agent.getImagePullPolicy()).isEqualTo("Always");
    assertThat(ds.getSpec().getTemplate().getSpec().getPriorityClassName())
        .isEqualTo("system-node-critical");
    assertThat(agent.getResources().getRequests())
        .containsEntry("cpu", new Quantity("50m"))
        .containsEntry("memory", new Quantity("96Mi"));
    assertThat(agent.getResources().getLimits()).containsEntry("memory", new Quantity("256Mi"));
  }

  @Test
  void theCrdsAreTheChartsFilesKeptOnUninstall() throws IOException {
    List<JsonNode> crds =
        render("carp-system").stream()
            .filter(o -> o.path("kind").asText().equals("CustomResourceDefinition"))
            .toList();
    Map<String, JsonNode> generated = new HashMap<>();
    // The chart's files/crds; theChartsCopiesAreIdenticalToTheirSources checks that they are the
    // generated crds/.
    try (Stream<Path> files = Files.list(Helm.chart().resolve("files/crds"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        JsonNode crd = ChartFacts.yaml(f);
        generated.put(
            crd.path("metadata").path("name").asText(), ChartFacts.numbersNormalized(crd));
      }
    }
    assertThat(crds).hasSameSizeAs(generated.keySet());
    for (JsonNode crd : crds) {
      assertThat(crd.path("metadata").path("annotations").path("helm.sh/resource-policy").asText())
          .isEqualTo("keep");
      ObjectNode bare = crd.deepCopy();
      ((ObjectNode) bare.path("metadata")).remove(List.of("labels", "annotations"));
      // helm's YAML round trip writes 65535.0 as 65535: the same number to the API server.
      assertThat(ChartFacts.numbersNormalized(bare))
          .as("rendered %s", crd.path("metadata").path("name").asText())
          .isEqualTo(generated.get(crd.path("metadata").path("name").asText()));
    }
    assertThat(
            render("carp-system", "--set", "crds.keep=false").stream()
                .filter(o -> o.path("kind").asText().equals("CustomResourceDefinition")))
        .allSatisfy(
            c ->
                assertThat(c.path("metadata").path("annotations").has("helm.sh/resource-policy"))
                    .isFalse());
    assertThat(kinds(render("carp-system", "--set", "crds.install=false")))
        .noneMatch(k -> k.startsWith("CustomResourceDefinition"));
  }

  @Test
  void rbacIsDeployRbacMovedToTheReleaseAndAgentNamespaces() throws IOException {
    List<JsonNode> objects =
        render(
            "ha-system",
            "--set",
            "imagePullSecrets[0].name=regcred",
            "--set",
            "agent.namespace=ha-agents");
    int compared = 0;
    for (String file : List.of("operator.yaml", "agent.yaml")) {
      String source =
          Files.readString(Helm.repositoryRoot().resolve("deploy/rbac").resolve(file))
              .replace("carp-system", "ha-system")
              .replace("carp-agents", "ha-agents");
      for (JsonNode expected : Helm.documents(source)) {
        JsonNode rendered =
            find(
                    objects,
                    expected.path("kind").asText(),
                    expected.path("metadata").path("name").asText())
                .deepCopy();
        ((ObjectNode) rendered.path("metadata")).remove(List.of("labels", "annotations"));
        if (rendered.path("kind").asText().equals("ServiceAccount")) {
          assertThat(rendered.path("imagePullSecrets").toString())
              .isEqualTo("[{\"name\":\"regcred\"}]");
          ((ObjectNode) rendered).remove("imagePullSecrets");
        }
        assertThat(rendered)
            .as(
                "%s %s from deploy/rbac/%s",
                expected.path("kind").asText(),
                expected.path("metadata").path("name").asText(),
                file)
            .isEqualTo(expected);
        compared++;
      }
    }
    assertThat(compared)
        .isEqualTo(
            objects.stream()
                .filter(
                    o -> o.path("kind").asText().matches("ServiceAccount|(Cluster)?Role(Binding)?"))
                .count());
    assertThat(
            find(objects, "Role", "carp-operator-events")
                .path("metadata")
                .path("namespace")
                .asText())
        .as("Events of cluster-scoped objects go to default")
        .isEqualTo("default");
    // the agents and what they may read live in their namespace; the operator keeps only its own
    // things in its own
    assertThat(objects)
        .filteredOn(
            o ->
                o.path("metadata").has("namespace")
                    && !o.path("metadata").path("name").asText().equals("carp-operator-events"))
        .allSatisfy(
            o ->
                assertThat(o.path("metadata").path("namespace").asText())
                    .as(o.path("kind").asText() + " " + o.path("metadata").path("name").asText())
                    .isEqualTo(
                        o.path("metadata").path("name").asText().startsWith("carp-agent")
                                || o.path("metadata")
                                    .path("name")
                                    .asText()
                                    .equals("carp-operator-agents")
                            ? "ha-agents"
                            : "ha-system"));
    JsonNode namespace = find(objects, "Namespace", "ha-agents");
    assertThat(
            namespace
                .path("metadata")
                .path("labels")
                .path("pod-security.kubernetes.io/enforce")
                .asText())
        .isEqualTo("privileged");
    assertThat(
            namespace.path("metadata").path("annotations").path("helm.sh/resource-policy").asText())
        .isEqualTo("keep");
    assertThat(kinds(render("ha-system", "--set", "agent.namespace=")))
        .as("agent.namespace empty: the old layout, one namespace, nothing created")
        .noneMatch(k -> k.startsWith("Namespace"))
        .contains("ServiceAccount ha-system/carp-agent", "Role ha-system/carp-operator-agents");
    assertThat(kinds(render("ha-system", "--set", "agent.createNamespace=false")))
        .noneMatch(k -> k.startsWith("Namespace"));

    // agent.secretNames: the agents' Role grants those Secrets only, and the agents watch them by
    // name
    List<JsonNode> byName = render("ha-system", "--set", "agent.secretNames={edge-carp,edge-sync}");
    assertThat(
            find(byName, "Role", "carp-agent-secrets")
                .path("rules")
                .get(0)
                .path("resourceNames")
                .toString())
        .isEqualTo("[\"edge-carp\",\"edge-sync\"]");
    JsonNode operator =
        find(byName, "Deployment", "carp-operator")
            .path("spec")
            .path("template")
            .path("spec")
            .path("containers")
            .get(0);
    OperatorSettings settings =
        OperatorSettings.fromEnvironment(ChartFacts.resolvedEnv(operator, "ha-system", "op-0"));
    assertThat(settings.agentDefaults().secretNames()).containsExactly("edge-carp", "edge-sync");
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    assertThat(
            AgentDaemonSets.desired(fwc, settings)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst()
                .getEnv())
        .anySatisfy(
            e ->
                assertThat(e.getName() + "=" + e.getValue())
                    .isEqualTo("CARP_SECRET_NAMES=edge-carp,edge-sync"));
    assertThat(
            find(render("ha-system"), "Role", "carp-agent-secrets")
                .path("rules")
                .get(0)
                .has("resourceNames"))
        .as("default: the whole agents' namespace")
        .isFalse();
  }

  @Test
  void theChartsCopiesAreIdenticalToTheirSources() throws IOException {
    List<String> stale = new ArrayList<>();
    for (String[] pair : new String[][] {{"crds", "files/crds"}, {"deploy/rbac", "files/rbac"}}) {
      Path source = Helm.repositoryRoot().resolve(pair[0]);
      Path copy = Helm.chart().resolve(pair[1]);
      Set<String> names = new TreeSet<>();
      for (Path dir : List.of(source, copy)) {
        try (Stream<Path> files = Files.list(dir)) {
          files
              .filter(p -> p.toString().endsWith(".yaml"))
              .forEach(p -> names.add(p.getFileName().toString()));
        }
      }
      for (String name : names) {
        Path a = source.resolve(name);
        Path b = copy.resolve(name);
        if (!Files.exists(a) || !Files.exists(b) || Files.mismatch(a, b) != -1)
          stale.add(pair[0] + "/" + name);
      }
    }
    assertThat(stale)
        .as(
            "the chart's copies differ from their sources: run helm/sync-files.sh and commit helm/carp-operator/files")
        .isEmpty();
  }

  @Test
  void monitoringObjectsScrapeWhatTheOperatorAndTheAgentsServe() {
    List<JsonNode> objects =
        render(
            "carp-system",
            Stream.concat(
                    Stream.of(MONITORING_APIS),
                    Stream.of(
                        "--set",
                        "metrics.serviceMonitor.enabled=true,metrics.podMonitor.enabled=true,metrics.prometheusRule.enabled=true,grafanaDashboard.enabled=true",
                        "--set",
                        "metrics.serviceMonitor.labels.release=prom,metrics.podMonitor.labels.release=prom,metrics.prometheusRule.labels.release=prom"))
                .toArray(String[]::new));

    JsonNode service = find(objects, "Service", "carp-operator-metrics");
    JsonNode serviceMonitor = find(objects, "ServiceMonitor", "carp-operator");
    assertThat(serviceMonitor.path("metadata").path("labels").path("release").asText())
        .isEqualTo("prom");
    serviceMonitor
        .path("spec")
        .path("selector")
        .path("matchLabels")
        .properties()
        .forEach(
            l ->
                assertThat(service.path("metadata").path("labels").path(l.getKey()).asText())
                    .isEqualTo(l.getValue().asText()));
    assertThat(serviceMonitor.path("spec").path("endpoints").get(0).path("port").asText())
        .isEqualTo(service.path("spec").path("ports").get(0).path("name").asText());

    // The PodMonitor selects the pods of the DaemonSets the operator creates, on the port they
    // declare.
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    fwc.setSpec(new FirewallClusterSpec());
    JsonNode operatorContainer =
        find(objects, "Deployment", "carp-operator")
            .path("spec")
            .path("template")
            .path("spec")
            .path("containers")
            .get(0);
    DaemonSet ds =
        AgentDaemonSets.desired(
            fwc,
            OperatorSettings.fromEnvironment(
                ChartFacts.resolvedEnv(operatorContainer, "carp-system", "op-0")));
    Map<String, String> podLabels = ds.getSpec().getTemplate().getMetadata().getLabels();
    JsonNode podMonitor = find(objects, "PodMonitor", "carp-agent");
    assertThat(podMonitor.path("spec").path("namespaceSelector").path("matchNames").toString())
        .isEqualTo("[\"" + ds.getMetadata().getNamespace() + "\"]")
        .isEqualTo("[\"carp-agents\"]");
    podMonitor
        .path("spec")
        .path("selector")
        .path("matchLabels")
        .properties()
        .forEach(l -> assertThat(podLabels).containsEntry(l.getKey(), l.getValue().asText()));
    JsonNode endpoint = podMonitor.path("spec").path("podMetricsEndpoints").get(0);
    assertThat(endpoint.path("port").asText())
        .isEqualTo(
            ds.getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .getFirst()
                .getPorts()
                .getFirst()
                .getName());
    assertThat(endpoint.path("relabelings").toString())
        .contains(
            "__meta_kubernetes_pod_label_carp_operator_dev_cluster",
            "carp_cluster",
            "__meta_kubernetes_pod_node_name");
    assertThat(podLabels).containsKey("carp-operator.dev/cluster");

    // The alerts the issue asks for, each on metrics the agent declares.
    JsonNode rules =
        find(objects, "PrometheusRule", "carp-operator")
            .path("spec")
            .path("groups")
            .get(0)
            .path("rules");
    Set<String> declared = ChartFacts.declaredMetrics();
    List<String> alerts = new ArrayList<>();
    for (JsonNode rule : rules) {
      alerts.add(rule.path("alert").asText());
      assertThat(rule.path("labels").path("severity").asText()).isNotEmpty();
      assertThat(rule.path("annotations").path("summary").asText()).isNotEmpty();
      assertThat(ChartFacts.referencedMetrics(rule.path("expr").asText()))
          .isNotEmpty()
          .allSatisfy(
              m ->
                  assertThat(declared)
                      .as("metric %s of alert %s", m, rule.path("alert").asText())
                      .contains(ChartFacts.base(m)));
    }
    assertThat(alerts).containsExactlyElementsOf(ALERTS);

    // The dashboard in the ConfigMap is the file, and graphs only metrics that exist.
    JsonNode configMap = find(objects, "ConfigMap", "carp-operator-dashboard");
    assertThat(configMap.path("metadata").path("labels").path("grafana_dashboard").asText())
        .isEqualTo("1");
    JsonNode dashboard = ChartFacts.json(Helm.chart().resolve("files/grafana/carp-operator.json"));
    try {
      assertThat(Helm.JSON.readTree(configMap.path("data").path("carp-operator.json").asText()))
          .isEqualTo(dashboard);
    } catch (IOException e) {
      throw new AssertionError("the dashboard in the ConfigMap is not JSON", e);
    }
    Set<String> graphed = new TreeSet<>();
    for (String expr : ChartFacts.dashboardExpressions(dashboard))
      graphed.addAll(ChartFacts.referencedMetrics(expr));
    // operator_sdk_* come from JOSDK: HelmReleaseOnRealApiServerTest finds them in the running
    // operator's /metrics.
    assertThat(graphed)
        .filteredOn(m -> m.startsWith("carp_"))
        .allSatisfy(
            m -> assertThat(declared).as("dashboard metric %s", m).contains(ChartFacts.base(m)));
    assertThat(graphed)
        .contains(
            "carp_vhid_state",
            "carp_adverts_rejected_total",
            "carp_sync_bulk_state",
            "carp_operator_events_total");
  }

  @Test
  void alertsCanBeSwitchedOffOrAddedTo() {
    List<JsonNode> objects =
        render(
            "carp-system",
            Stream.concat(
                    Stream.of(MONITORING_APIS),
                    Stream.of(
                        "--set",
                        "metrics.prometheusRule.enabled=true,metrics.prometheusRule.alerts.CarpSyncBehind.enabled=false,metrics.prometheusRule.alerts.CarpNoMaster.for=3m",
                        "--set-json",
                        "metrics.prometheusRule.additionalRules=[{\"alert\":\"Mine\",\"expr\":\"vector(1)\"}]"))
                .toArray(String[]::new));
    JsonNode rules =
        find(objects, "PrometheusRule", "carp-operator")
            .path("spec")
            .path("groups")
            .get(0)
            .path("rules");
    List<String> names = new ArrayList<>();
    rules.forEach(r -> names.add(r.path("alert").asText()));
    assertThat(names).doesNotContain("CarpSyncBehind").contains("CarpNoMaster", "Mine");
    assertThat(rules.get(0).path("for").asText()).isEqualTo("3m");
  }

  @Test
  void monitoringKindsFailClearlyWithoutThePrometheusOperatorsCrds() {
    assertThat(
            helm.fails(
                "template",
                "carp",
                Helm.chart().toString(),
                "--set",
                "metrics.podMonitor.enabled=true"))
        .contains(
            "metrics.podMonitor.enabled=true, but this cluster does not serve monitoring.coreos.com/v1 PodMonitor");
    assertThat(
            helm.fails(
                "template",
                "carp",
                Helm.chart().toString(),
                "--api-versions",
                "monitoring.coreos.com/v1/ServiceMonitor",
                "--set",
                "metrics.serviceMonitor.enabled=true,metrics.service.enabled=false"))
        .contains("metrics.serviceMonitor.enabled needs metrics.service.enabled");
  }

  @Test
  void wrongValuesFailAtInstallTimeNamingTheValue() {
    Map<String, String> cases =
        Map.of(
            "operator.logLevel=verbose",
                "operator.logLevel must be one of the following: \"error\", \"warn\", \"info\", \"debug\", \"trace\"",
            "operator.replica=2", "operator: Additional property replica is not allowed",
            "operator.replicas=two",
                "operator.replicas: Invalid type. Expected: integer, given: string",
            "operator.port=70000", "operator.port: Must be less than or equal to 65535",
            "agent.resources.requests.cpu=lots",
                "agent.resources.requests.cpu: Does not match pattern",
            "agent.image.pullPolicy=Sometimes",
                "agent.image.pullPolicy must be one of the following",
            "metrics.prometheusRule.alerts.CarpNoMaster.for=soon",
                "metrics.prometheusRule.alerts.CarpNoMaster.for: Does not match pattern",
            "crds.install=maybe", "crds.install: Invalid type. Expected: boolean, given: string");
    cases.forEach(
        (set, message) ->
            assertThat(helm.fails("template", "carp", Helm.chart().toString(), "--set", set))
                .as("--set %s", set)
                .contains("values don't meet the specifications of the schema", message));
  }

  @Test
  void versionsAndImageNamesMatchTheBuild() throws IOException {
    String pom = Files.readString(Helm.repositoryRoot().resolve("pom.xml"));
    String projectVersion =
        pom.replaceFirst(
            "(?s).*?<artifactId>carp-operator-parent</artifactId>\\s*<version>([^<]+)</version>.*",
            "$1");
    String release = projectVersion.replaceFirst("-SNAPSHOT$", "");
    assertThat(chartYaml.path("version").asText()).isEqualTo(release);
    assertThat(appVersion()).isEqualTo(release);
    assertThat(OperatorSettings.DEFAULT_AGENT_IMAGE)
        .isEqualTo(values.at("/agent/image/repository").asText() + ":" + release);

    String script = Files.readString(Helm.repositoryRoot().resolve("scripts/build-images.sh"));
    String registry =
        script.replaceFirst("(?s).*REGISTRY=\\$\\{CARP_IMAGE_REGISTRY:-([^}]+)}.*", "$1");
    assertThat(values.at("/operator/image/repository").asText())
        .isEqualTo(registry + "/carp-operator");
    assertThat(values.at("/agent/image/repository").asText()).isEqualTo(registry + "/carp-agent");
    assertThat(script)
        .contains(
            "ref=\"$REGISTRY/carp-$image:$TAG\"", "TAG=${CARP_IMAGE_TAG:-${version%-SNAPSHOT}}");
    for (String image : List.of("operator", "agent")) {
      assertThat(Helm.repositoryRoot().resolve("images").resolve(image).resolve("Containerfile"))
          .exists();
    }
    assertThat(Files.readString(Helm.repositoryRoot().resolve("images/agent/Containerfile")))
        .contains(
            "libpcap0.8t64", "iproute2", "nftables", "libnetfilter-conntrack3", "libnfnetlink0");
  }

  @Test
  void theValuesReferenceInDocsIsGeneratedFromTheChart() throws IOException {
    JsonNode schema = ChartFacts.json(Helm.chart().resolve("values.schema.json"));
    String expected = ChartFacts.section(ChartFacts.valuesReference(schema, values));
    Path doc = Helm.repositoryRoot().resolve("docs/install.md");
    String text = Files.readString(doc);
    String current = ChartFacts.generatedSection(text);
    if ("true".equals(System.getenv("CARP_UPDATE_DOCS"))
        && current != null
        && !current.equals(expected)) {
      Files.writeString(doc, text.replace(current, expected));
      current = expected;
    }
    assertThat(current)
        .as(
            "docs/install.md's values reference (between the values-reference markers); refresh it with "
                + "CARP_UPDATE_DOCS=true ./mvnw -pl operator test -Dtest=HelmChartTest")
        .isEqualTo(expected);

    // Every key of values.yaml is in the reference (the schema forbids unknown keys, so this is the
    // other direction).
    Set<String> documented =
        expected
            .lines()
            .filter(l -> l.startsWith("| `"))
            .map(l -> l.substring(3, l.indexOf('`', 3)))
            .collect(Collectors.toSet());
    List<String> missing = new ArrayList<>();
    leaves("", values, documented, missing);
    assertThat(missing)
        .as("values.yaml keys missing from the schema's documented leaves")
        .isEmpty();
  }

  private static void leaves(
      String prefix, JsonNode node, Set<String> documented, List<String> missing) {
    node.properties()
        .forEach(
            e -> {
              String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
              if (documented.contains(key)) return;
              if (e.getValue().isObject() && !e.getValue().isEmpty())
                leaves(key, e.getValue(), documented, missing);
              else missing.add(key);
            });
  }
}
