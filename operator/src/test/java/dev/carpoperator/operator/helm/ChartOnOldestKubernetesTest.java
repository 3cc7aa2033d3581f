package dev.carpoperator.operator.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The oldest Kubernetes the chart claims ({@code kubeVersion} in Chart.yaml, kube-apiserver built
 * by {@code scripts/build-control-plane.sh --oldest}): helm installs the chart there, the CRDs are
 * established (their CEL rules use {@code isCIDR}, {@code isIP} and {@code ip().family()}, which
 * older API servers reject), every example is accepted and every invalid resource of the API's
 * tests is refused with the same message as on the newest. The newest gets the same checks in
 * CrdsOnRealApiServerTest and HelmReleaseOnRealApiServerTest, and the whole end-to-end suite on
 * real nodes (the lab module).
 */
class ChartOnOldestKubernetesTest {
  static final String NS = "carp-system";
  @TempDir static Path work;
  static ControlPlane controlPlane;
  static KubernetesClient admin;
  static Helm helm;

  @BeforeAll
  static void start() {
    controlPlane = ControlPlane.start(ControlPlaneBinaries.oldest());
    admin = controlPlane.adminClient();
    helm = new Helm(work.resolve("helm-home"), controlPlane.kubeconfig());
  }

  @AfterAll
  static void stop() {
    if (admin != null) admin.close();
    if (controlPlane != null) controlPlane.close();
  }

  @Test
  void theChartInstallsAndTheCrdsValidateOnTheOldestClaimedVersion() throws IOException {
    String claimed =
        ChartFacts.yaml(Helm.chart().resolve("Chart.yaml")).path("kubeVersion").asText();
    String server = admin.getKubernetesVersion().getGitVersion();
    assertThat(claimed)
        .as("Chart.yaml kubeVersion names the version tested here")
        .isEqualTo(">=" + minorOf(server) + ".0-0");

    String out =
        helm.ok(
            "install",
            "carp",
            Helm.chart().toString(),
            "--namespace",
            NS,
            "--create-namespace",
            "--set",
            "agent.image.repository=registry.test/carp-agent");
    assertThat(out).contains("STATUS: deployed");
    for (String crd :
        List.of("firewallclusters.carp-operator.dev", "virtualaddresses.carp-operator.dev")) {
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
    }
    assertThat(admin.apps().deployments().inNamespace(NS).withName("carp-operator").get())
        .isNotNull();

    Path root = Helm.repositoryRoot();
    List<Path> examples;
    try (Stream<Path> walk = Files.walk(root.resolve("examples"))) {
      examples = walk.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(examples).isNotEmpty();
    for (Path example : examples) {
      try (InputStream in = Files.newInputStream(example)) {
        for (HasMetadata item : admin.load(in).items()) {
          assertThat(admin.resource(item).forceConflicts().serverSideApply().getMetadata().getUid())
              .as("%s", example)
              .isNotBlank();
        }
      }
    }

    List<Path> invalid;
    try (Stream<Path> files = Files.list(root.resolve("api/src/test/resources/invalid"))) {
      invalid = files.sorted().toList();
    }
    assertThat(invalid).hasSizeGreaterThan(10);
    for (Path file : invalid) {
      String yaml = Files.readString(file);
      String expected = yaml.lines().findFirst().orElseThrow().replaceFirst("^# expect: ", "");
      HasMetadata item = admin.load(new ByteArrayInputStream(yaml.getBytes())).items().getFirst();
      assertThatThrownBy(() -> admin.resource(item).create())
          .as("%s", file.getFileName())
          .isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
          .hasMessageContaining(expected);
    }
  }

  /** "v1.31.14" → "1.31". */
  private static String minorOf(String gitVersion) {
    String[] parts = gitVersion.replaceFirst("^v", "").split("\\.");
    return parts[0] + "." + parts[1];
  }
}
