package dev.carpoperator.agent.actions;

import dev.carpoperator.agent.config.AgentConfig;
import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.net.AddressManager;
import dev.carpoperator.agent.notify.WebhookNotifier;
import java.time.Duration;

/**
 * The standalone agent's state-change actions and webhook, registered on the engine before it
 * starts.
 */
public final class StandaloneHooks implements AutoCloseable {
  /** Longest a clean stop waits for the onBackup actions before bowing out anyway. */
  static final Duration SHUTDOWN_ACTIONS_WAIT = Duration.ofSeconds(15);

  /** Time given to the webhook to deliver the shutdown's own state changes. */
  static final Duration WEBHOOK_DRAIN = Duration.ofSeconds(3);

  private final ActionRunner actions;
  private final WebhookNotifier webhook;

  private StandaloneHooks(ActionRunner actions, WebhookNotifier webhook) {
    this.actions = actions;
    this.webhook = webhook;
  }

  public static StandaloneHooks install(AgentConfig config, CarpEngine engine, AddressManager ip) {
    ActionRunner actions = null;
    if (!config.actions().isEmpty()) {
      actions =
          new ActionRunner(
              ActionPlan.of(config.actions()),
              new SystemActionExecutor(ip),
              config.node(),
              null,
              engine.metrics());
      engine.addListener(actions);
    }
    WebhookNotifier webhook = null;
    if (config.notifications().webhook() != null) {
      webhook = WebhookNotifier.of(config.notifications().webhook(), null, engine.metrics());
      engine.addListener(webhook);
    }
    return new StandaloneHooks(actions, webhook);
  }

  /**
   * Call before {@link CarpEngine#close()}: onBackup runs before the bow-out lets a backup take
   * over.
   */
  public void beforeEngineClose() {
    if (actions != null) actions.beforeShutdown(SHUTDOWN_ACTIONS_WAIT);
  }

  @Override
  public void close() {
    if (actions != null) actions.close();
    if (webhook != null) webhook.close(WEBHOOK_DRAIN);
  }
}
