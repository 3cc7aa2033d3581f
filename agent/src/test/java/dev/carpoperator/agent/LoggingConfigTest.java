package dev.carpoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * logLevel: trace must not turn on the Kubernetes client's HTTP logging: at trace it logs request
 * and response bodies (Secrets) and headers (the bearer token). The level applies to the project's
 * loggers only.
 */
class LoggingConfigTest {
  @AfterEach
  void clear() {
    System.clearProperty("CARP_LOG_LEVEL");
  }

  @ParameterizedTest
  @ValueSource(strings = {"logback.xml", "logback-text.xml"})
  void traceAppliesToTheProjectsLoggersOnly(String file) throws Exception {
    System.setProperty("CARP_LOG_LEVEL", "TRACE");
    LoggerContext context = load(file);
    assertThat(context.getLogger("dev.carpoperator.agent.Anything").isTraceEnabled()).isTrue();
    assertThat(
            context
                .getLogger("io.fabric8.kubernetes.client.http.HttpLoggingInterceptor")
                .isTraceEnabled())
        .isFalse();
    assertThat(
            context
                .getLogger("io.fabric8.kubernetes.client.http.HttpLoggingInterceptor")
                .isDebugEnabled())
        .isFalse();
    assertThat(
            context
                .getLogger("io.fabric8.kubernetes.client.dsl.internal.OperationSupport")
                .isDebugEnabled())
        .isFalse();
    assertThat(context.getLogger("okhttp3.OkHttpClient").isDebugEnabled()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"logback.xml", "logback-text.xml"})
  void theDefaultIsInfo(String file) throws Exception {
    LoggerContext context = load(file);
    assertThat(context.getLogger("dev.carpoperator.agent.Anything").isInfoEnabled()).isTrue();
    assertThat(context.getLogger("dev.carpoperator.agent.Anything").isDebugEnabled()).isFalse();
  }

  private static LoggerContext load(String file) throws Exception {
    LoggerContext context = new LoggerContext();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(LoggingConfigTest.class.getResource("/" + file));
    return context;
  }
}
