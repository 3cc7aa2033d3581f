package dev.carpoperator.operator;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import com.sun.net.httpserver.HttpServer;
import dev.carpoperator.operator.address.VirtualAddressReconciler;
import dev.carpoperator.operator.cluster.FirewallClusterReconciler;
import dev.carpoperator.operator.service.AddressPoolReconciler;
import dev.carpoperator.operator.service.LoadBalancerServiceReconciler;
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.slf4j.LoggerFactory;

/**
 * Runs the operator: the FirewallCluster, VirtualAddress and LoadBalancer Service reconcilers,
 * leader election, and /healthz and /readyz on the health port.
 */
public final class OperatorMain {
  private OperatorMain() {}

  public static void main(String[] args) throws IOException {
    if ("text".equals(System.getenv("CARP_LOG_FORMAT"))) useTextLogs();
    OperatorSettings settings = OperatorSettings.fromEnvironment(System.getenv());
    OperatorMetrics metrics = new OperatorMetrics();
    Operator operator = start(settings, metrics, o -> {});
    if (settings.healthPort() > 0) serveHealth(operator, metrics, settings.healthPort());
    Runtime.getRuntime().addShutdownHook(new Thread(operator::stop, "carp-operator-stop"));
  }

  /** Builds, registers and starts the operator; the tests call this too. */
  public static Operator start(
      OperatorSettings settings,
      Consumer<io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider> extra) {
    return start(settings, new OperatorMetrics(), extra);
  }

  public static Operator start(
      OperatorSettings settings,
      OperatorMetrics metrics,
      Consumer<io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider> extra) {
    Operator operator =
        new Operator(
            o -> {
              settings.configure(o);
              o.withMetrics(metrics.josdk());
              extra.accept(o);
            });
    operator.register(new FirewallClusterReconciler(settings));
    operator.register(new VirtualAddressReconciler(metrics, settings.agentNamespace()));
    var services =
        new LoadBalancerServiceReconciler(
            new LoadBalancerServiceReconciler.ServiceClass(
                settings.loadBalancerClass(), settings.loadBalancerDefault()),
            metrics);
    // Only our Services are reconciled (and get the finalizer); the informer still caches all.
    operator.register(services, o -> o.withGenericFilter(services::interesting));
    operator.register(new AddressPoolReconciler());
    operator.start();
    return operator;
  }

  public static Operator start(OperatorSettings settings) {
    return start(settings, o -> {});
  }

  /**
   * /healthz, /readyz and /metrics on {@code port} (0: any free port); returns the running server.
   */
  public static HttpServer serveHealth(Operator operator, OperatorMetrics metrics, int port)
      throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
    server.createContext(
        "/healthz", ex -> respond(ex, operator.getRuntimeInfo().allEventSourcesAreHealthy()));
    server.createContext("/readyz", ex -> respond(ex, operator.getRuntimeInfo().isStarted()));
    server.createContext(
        "/metrics",
        ex -> {
          byte[] body = metrics.scrape().getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
          ex.sendResponseHeaders(200, body.length);
          try (var out = ex.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    return server;
  }

  /** Switches from the default JSON lines to logback-text.xml (CARP_LOG_FORMAT=text). */
  static void useTextLogs() {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ctx.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(ctx);
    try {
      configurator.doConfigure(OperatorMain.class.getResource("/logback-text.xml"));
    } catch (Exception e) {
      System.err.println("carp-operator: cannot switch to text logs: " + e);
    }
  }

  private static void respond(com.sun.net.httpserver.HttpExchange ex, boolean ok)
      throws IOException {
    byte[] body = (ok ? "ok\n" : "not ready\n").getBytes();
    ex.sendResponseHeaders(ok ? 200 : 503, body.length);
    try (var out = ex.getResponseBody()) {
      out.write(body);
    }
  }
}
