package dev.carpoperator.agent.config;

import dev.carpoperator.agent.health.CheckSpec;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import dev.carpoperator.api.v1alpha1.HealthCheck;
import dev.carpoperator.api.v1alpha1.HttpCheck;

/**
 * A health check of the API ({@link HealthCheck}: the CRDs and the standalone YAML use the same
 * type) as the engine's {@link CheckSpec}, with the defaults of {@link AgentLimits}.
 */
public final class HealthCheckSpecs {
  private HealthCheckSpecs() {}

  /**
   * From the API type. Throws {@link IllegalArgumentException} with a message naming the field when
   * the check is incomplete (the CRD's schema refuses these; the standalone YAML is checked here).
   */
  public static CheckSpec of(HealthCheck c) {
    String name = c.getName();
    if (name == null || name.isBlank())
      throw new IllegalArgumentException("a health check needs a name");
    CheckSpec.Target target;
    if ((c.getTcp() == null) == (c.getHttp() == null))
      throw new IllegalArgumentException(
          "health check " + name + ": set exactly one of tcp and http");
    if (c.getTcp() != null) {
      target = new CheckSpec.Tcp(host(c.getTcp().getHost()), port(name, c.getTcp().getPort()));
    } else {
      HttpCheck h = c.getHttp();
      String path = h.getPath() == null ? "/" : h.getPath();
      if (!path.startsWith("/") || path.chars().anyMatch(ch -> ch <= ' ' || ch > '~'))
        throw new IllegalArgumentException(
            "health check "
                + name
                + ": http.path must start with / and hold no spaces, was "
                + path);
      target =
          new CheckSpec.Http(
              h.getScheme() == HttpCheck.Scheme.HTTPS,
              host(h.getHost()),
              port(name, h.getPort()),
              path,
              Boolean.TRUE.equals(h.getInsecureSkipVerify()));
    }
    return new CheckSpec(
        name,
        target,
        1000L
            * within(
                name,
                "periodSeconds",
                c.getPeriodSeconds(),
                AgentLimits.HEALTH_PERIOD_SECONDS_DEFAULT,
                AgentLimits.HEALTH_PERIOD_SECONDS_MIN,
                AgentLimits.HEALTH_PERIOD_SECONDS_MAX),
        1000L
            * within(
                name,
                "timeoutSeconds",
                c.getTimeoutSeconds(),
                AgentLimits.HEALTH_TIMEOUT_SECONDS_DEFAULT,
                AgentLimits.HEALTH_TIMEOUT_SECONDS_MIN,
                AgentLimits.HEALTH_TIMEOUT_SECONDS_MAX),
        within(
            name,
            "failureThreshold",
            c.getFailureThreshold(),
            AgentLimits.HEALTH_FAILURE_THRESHOLD_DEFAULT,
            AgentLimits.HEALTH_THRESHOLD_MIN,
            AgentLimits.HEALTH_THRESHOLD_MAX),
        within(
            name,
            "successThreshold",
            c.getSuccessThreshold(),
            AgentLimits.HEALTH_SUCCESS_THRESHOLD_DEFAULT,
            AgentLimits.HEALTH_THRESHOLD_MIN,
            AgentLimits.HEALTH_THRESHOLD_MAX),
        within(
            name,
            "weight",
            c.getWeight(),
            AgentLimits.HEALTH_WEIGHT_DEFAULT,
            AgentLimits.HEALTH_WEIGHT_MIN,
            AgentLimits.HEALTH_WEIGHT_MAX));
  }

  private static String host(String host) {
    return host == null || host.isBlank() ? AgentLimits.HEALTH_HOST_DEFAULT : host.strip();
  }

  private static int port(String name, Integer port) {
    if (port == null)
      throw new IllegalArgumentException("health check " + name + ": a port is required");
    return within(name, "port", port, 0, AgentLimits.PORT_MIN, AgentLimits.PORT_MAX);
  }

  private static int within(String name, String field, Integer value, int dflt, int min, int max) {
    int v = value == null ? dflt : value;
    if (!AgentLimits.within(v, min, max))
      throw new IllegalArgumentException(
          "health check " + name + ": " + field + " must be " + min + "-" + max + ", was " + v);
    return v;
  }
}
