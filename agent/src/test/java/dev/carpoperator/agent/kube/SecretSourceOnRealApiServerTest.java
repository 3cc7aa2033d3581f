package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.kube.ControlPlane;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Secrets by name on a real kube-apiserver: with a Role whose resourceNames list one Secret (what
 * the chart makes of agent.secretNames), the agent's per-name informer lists, watches and follows
 * that Secret, while the namespace's other Secrets stay unreadable to it.
 */
class SecretSourceOnRealApiServerTest {
  static final String NS = "secret-source-test";

  @Test
  void anAgentLimitedToNamedSecretsReadsAndFollowsExactlyThose() {
    KubernetesClient admin = ControlPlane.shared().adminClient();
    admin
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
        .serverSideApply();
    for (String name : List.of("edge-carp", "unrelated")) {
      admin
          .resource(
              new SecretBuilder()
                  .withNewMetadata()
                  .withName(name)
                  .withNamespace(NS)
                  .endMetadata()
                  .withStringData(Map.of("password", name + "-v1"))
                  .build())
          .serverSideApply();
    }
    admin
        .resource(
            new ServiceAccountBuilder()
                .withNewMetadata()
                .withName("carp-agent")
                .withNamespace(NS)
                .endMetadata()
                .build())
        .serverSideApply();
    admin
        .resource(
            new RoleBuilder()
                .withNewMetadata()
                .withName("carp-agent-secrets")
                .withNamespace(NS)
                .endMetadata()
                .addNewRule()
                .withApiGroups("")
                .withResources("secrets")
                .withVerbs("get", "list", "watch")
                .withResourceNames("edge-carp")
                .endRule()
                .build())
        .serverSideApply();
    admin
        .resource(
            new RoleBindingBuilder()
                .withNewMetadata()
                .withName("carp-agent-secrets")
                .withNamespace(NS)
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "Role", "carp-agent-secrets")
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName("carp-agent")
                .withNamespace(NS)
                .endSubject()
                .build())
        .serverSideApply();
    String token =
        admin
            .serviceAccounts()
            .inNamespace(NS)
            .withName("carp-agent")
            .tokenRequest(
                new TokenRequestBuilder()
                    .withNewSpec()
                    .withExpirationSeconds(600L)
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();

    try (KubernetesClient agent =
            new KubernetesClientBuilder().withConfig(ControlPlane.shared().config(token)).build();
        SecretSource secrets =
            SecretSource.start(
                agent,
                NS,
                SecretSource.parseNames(" edge-carp, "),
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Secret s) {}

                  @Override
                  public void onUpdate(Secret a, Secret b) {}

                  @Override
                  public void onDelete(Secret s, boolean unknown) {}
                })) {
      await().atMost(Duration.ofSeconds(30)).until(secrets::hasSynced);
      assertThat(secrets.find("edge-carp")).isPresent();
      assertThat(secrets.watches("unrelated")).isFalse();
      assertThat(secrets.find("unrelated")).isEmpty();
      assertThatThrownBy(() -> agent.secrets().inNamespace(NS).list())
          .as("the namespace as a whole stays closed")
          .isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
      assertThatThrownBy(() -> agent.secrets().inNamespace(NS).withName("unrelated").get())
          .isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));

      // a rotated password reaches the agent through the watch
      admin
          .resource(
              new SecretBuilder()
                  .withNewMetadata()
                  .withName("edge-carp")
                  .withNamespace(NS)
                  .endMetadata()
                  .withStringData(Map.of("password", "edge-carp-v2"))
                  .build())
          .serverSideApply();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  secrets
                      .find("edge-carp")
                      .map(s -> s.getData().get("password"))
                      .map(b64 -> new String(java.util.Base64.getDecoder().decode(b64)))
                      .orElse("")
                      .equals("edge-carp-v2"));
    } finally {
      admin.namespaces().withName(NS).delete();
    }
  }

  @Test
  void namesAreParsedFromTheEnvironment() {
    assertThat(SecretSource.parseNames(null)).isEmpty();
    assertThat(SecretSource.parseNames(" ")).isEmpty();
    assertThat(SecretSource.parseNames("a, b,,a")).containsExactly("a", "b");
  }
}
