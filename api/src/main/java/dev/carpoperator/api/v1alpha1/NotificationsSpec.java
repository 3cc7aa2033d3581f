package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Who is told about state changes, besides the Events on each VirtualAddress. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NotificationsSpec {
  @JsonPropertyDescription(
      "An HTTP POST with a JSON body (cluster, vhid, interface, node, from, to, reason, time) for every state change, sent by the agent of the node that changed.")
  private Webhook webhook;

  public Webhook getWebhook() {
    return webhook;
  }

  public void setWebhook(Webhook webhook) {
    this.webhook = webhook;
  }

  public static class Webhook {
    @Required
    @Size(max = 2048)
    // The old pattern ^https?://.+ let through URLs that Java's URI refuses (a space, a bad
    // escape), and so does CEL's
    // isURL: only RFC 3986 characters and complete %-escapes, then CEL checks the scheme and the
    // host.
    @Pattern("^https?://([A-Za-z0-9._~:/?#\\[\\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+$")
    @ValidationRule(
        value =
            "isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",
        message =
            "must be an absolute http:// or https:// URL with a host, e.g. http://192.0.2.50:8080/carp")
    @JsonPropertyDescription(
        "Receiver URL (http or https), reachable from the nodes (agents run on the host network). A token in it is not logged.")
    private String url;

    @Default(AgentLimits.WEBHOOK_TIMEOUT_SECONDS_DEFAULT_TEXT)
    @Min(AgentLimits.WEBHOOK_TIMEOUT_SECONDS_MIN)
    @Max(AgentLimits.WEBHOOK_TIMEOUT_SECONDS_MAX)
    @JsonPropertyDescription("Seconds to wait for each attempt.")
    private Integer timeoutSeconds = AgentLimits.WEBHOOK_TIMEOUT_SECONDS_DEFAULT;

    @Default(AgentLimits.WEBHOOK_RETRIES_DEFAULT_TEXT)
    @Min(AgentLimits.WEBHOOK_RETRIES_MIN)
    @Max(AgentLimits.WEBHOOK_RETRIES_MAX)
    @JsonPropertyDescription(
        "Retries after a failed attempt (transport errors, timeouts, 408, 429, 5xx), with backoff.")
    private Integer retries = AgentLimits.WEBHOOK_RETRIES_DEFAULT;

    public String getUrl() {
      return url;
    }

    public void setUrl(String url) {
      this.url = url;
    }

    public Integer getTimeoutSeconds() {
      return timeoutSeconds;
    }

    public void setTimeoutSeconds(Integer timeoutSeconds) {
      this.timeoutSeconds = timeoutSeconds;
    }

    public Integer getRetries() {
      return retries;
    }

    public void setRetries(Integer retries) {
      this.retries = retries;
    }
  }
}
