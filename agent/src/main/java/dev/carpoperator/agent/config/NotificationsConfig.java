package dev.carpoperator.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.carpoperator.api.v1alpha1.AgentLimits;

/** Where state changes are reported besides the log and metrics. */
public record NotificationsConfig(WebhookConfig webhook) {
  public static final NotificationsConfig NONE = new NotificationsConfig(null);

  @JsonCreator
  public NotificationsConfig(@JsonProperty("webhook") WebhookConfig webhook) {
    this.webhook = webhook;
  }

  /**
   * An HTTP POST with a JSON body per state change; {@code retries} more attempts after a failed
   * one.
   */
  public record WebhookConfig(String url, int timeoutSeconds, int retries) {
    public static final int DEFAULT_TIMEOUT_SECONDS = AgentLimits.WEBHOOK_TIMEOUT_SECONDS_DEFAULT;
    public static final int DEFAULT_RETRIES = AgentLimits.WEBHOOK_RETRIES_DEFAULT;

    @JsonCreator
    public WebhookConfig(
        @JsonProperty("url") String url,
        @JsonProperty("timeoutSeconds") Integer timeoutSeconds,
        @JsonProperty("retries") Integer retries) {
      this(
          url,
          timeoutSeconds == null ? DEFAULT_TIMEOUT_SECONDS : timeoutSeconds,
          retries == null ? DEFAULT_RETRIES : retries);
    }
  }
}
