package dev.carpoperator.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.config.NotificationsConfig.WebhookConfig;
import dev.carpoperator.agent.kube.KubeAgent;
import dev.carpoperator.agent.notify.WebhookNotifier;
import org.junit.jupiter.api.Test;

class WebhookUrlTest {
  @Test
  void acceptsAbsoluteHttpAndHttpsUrlsWithAHost() {
    assertThat(WebhookUrl.problem("http://192.0.2.50:8080/carp")).isNull();
    assertThat(WebhookUrl.problem("https://hooks.example/services/T0/B0/xyz?token=abc")).isNull();
    assertThat(WebhookUrl.problem("http://[2001:db8::5]:8080/carp")).isNull();
  }

  @Test
  void refusesWhatTheOldCrdPatternLetThrough() {
    // ^https?://.+ matched these; Java's URI refuses them, which stopped the agent before its
    // election started
    assertThat(WebhookUrl.problem("http://receiver.example/carp hook")).contains("is not a URL");
    assertThat(WebhookUrl.problem("http://receiver.example/carp%zz")).contains("is not a URL");
    assertThat(WebhookUrl.problem("http:///carp")).contains("with a host");
    assertThat(WebhookUrl.problem("ftp://receiver.example/")).contains("http:// or https://");
    assertThat(WebhookUrl.problem(" ")).startsWith("required");
  }

  @Test
  void theNotifierRefusesABadUrlWithAnIllegalArgumentException() {
    assertThatThrownBy(
            () ->
                WebhookNotifier.of(
                    new WebhookConfig("http://receiver.example/a b", 5, 0), null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("notifications.webhook.url");
  }

  @Test
  void aFailingOptionalFeatureIsReportedNotThrown() {
    boolean started =
        KubeAgent.startOptional(
            "webhook",
            () ->
                WebhookNotifier.of(
                    new WebhookConfig("http://receiver.example/a b", 5, 0), null, null));
    assertThat(started).isFalse();
    assertThat(KubeAgent.startOptional("actions", () -> {})).isTrue();
  }

  @Test
  void logsShowNeitherUserInformationNorTheQuery() {
    assertThat(WebhookUrl.redacted("https://user:s3cret@hooks.example:8443/path?token=abc#x"))
        .isEqualTo("https://***@hooks.example:8443/path?***");
    assertThat(WebhookUrl.redacted("http://192.0.2.50:8080/carp"))
        .isEqualTo("http://192.0.2.50:8080/carp");
    assertThat(WebhookUrl.redacted("http://host/a@b")).isEqualTo("http://host/a@b");
    assertThat(WebhookUrl.problem("http://user:pw@host/a b"))
        .doesNotContain("pw")
        .contains("***@host");
  }
}
