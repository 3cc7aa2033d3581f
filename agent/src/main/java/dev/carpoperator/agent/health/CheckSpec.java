package dev.carpoperator.agent.health;

import java.util.Objects;

/**
 * One health check as the agent runs it, with the defaults filled in: what the standalone YAML and
 * the VirtualAddress CRD both become ({@code config.HealthCheckSpecs} translates them).
 */
public record CheckSpec(
    String name,
    Target target,
    long periodMillis,
    long timeoutMillis,
    int failureThreshold,
    int successThreshold,
    int weight) {

  /** What a check connects to. */
  public sealed interface Target {}

  /** Passes when a TCP connection to host:port opens. */
  public record Tcp(String host, int port) implements Target {
    @Override
    public String toString() {
      return "tcp " + host + ":" + port;
    }
  }

  /** Passes when GET path answers 200-399. */
  public record Http(boolean tls, String host, int port, String path, boolean insecure)
      implements Target {
    @Override
    public String toString() {
      return (tls ? "https://" : "http://") + host + ":" + port + path;
    }
  }

  public CheckSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(target, "target");
  }
}
