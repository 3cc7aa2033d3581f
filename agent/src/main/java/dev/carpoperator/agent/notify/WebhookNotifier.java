package dev.carpoperator.agent.notify;

import static net.logstash.logback.argument.StructuredArguments.kv;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carpoperator.agent.config.NotificationsConfig.WebhookConfig;
import dev.carpoperator.agent.config.WebhookUrl;
import dev.carpoperator.agent.engine.EngineListener;
import dev.carpoperator.agent.metrics.AgentMetrics;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts every state change as JSON to a URL: {@code {"cluster", "vhid", "interface", "node",
 * "from", "to", "reason", "time"}} ({@code cluster} is null standalone). One worker thread delivers
 * in order, each POST with a time limit, retrying transport errors, timeouts, 408, 429 and 5xx with
 * exponential backoff; other 4xx are not retried (the same body would be refused again). The queue
 * is bounded, so a dead receiver costs at most {@value #QUEUE_CAPACITY} pending notifications:
 * newer ones are dropped and counted.
 */
public final class WebhookNotifier implements EngineListener, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WebhookNotifier.class);
  static final int QUEUE_CAPACITY = 256;
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] STOP = new byte[0];

  private final URI url;
  private final Duration timeout;
  private final int retries;
  private final Duration backoff;
  private final String cluster;
  private final AgentMetrics metrics;
  private final HttpClient http;
  private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
  private final Thread worker;
  private volatile boolean closing;
  private long dropped;

  /**
   * @param retries attempts after the first failed one
   * @param backoff wait before the first retry; doubled for each further one (at most 30 s)
   * @param cluster the FirewallCluster's name, null standalone
   */
  public WebhookNotifier(
      URI url,
      Duration timeout,
      int retries,
      Duration backoff,
      String cluster,
      AgentMetrics metrics) {
    this.url = url;
    this.timeout = timeout;
    this.retries = retries;
    this.backoff = backoff;
    this.cluster = cluster;
    this.metrics = metrics;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    this.worker = Thread.ofPlatform().name("carp-webhook").daemon().start(this::work);
  }

  /**
   * @throws IllegalArgumentException when the URL fails {@link WebhookUrl#problem}
   */
  public static WebhookNotifier of(WebhookConfig c, String cluster, AgentMetrics metrics) {
    String problem = WebhookUrl.problem(c.url());
    if (problem != null)
      throw new IllegalArgumentException("notifications.webhook.url: " + problem);
    return new WebhookNotifier(
        URI.create(c.url()),
        Duration.ofSeconds(c.timeoutSeconds()),
        c.retries(),
        Duration.ofMillis(500),
        cluster,
        metrics);
  }

  /** The JSON body for one state change. */
  public static byte[] body(String cluster, StateChange c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cluster", cluster);
    m.put("vhid", c.vhid());
    m.put("interface", c.interfaceName());
    m.put("node", c.node());
    m.put("from", c.from().name());
    m.put("to", c.to().name());
    m.put("reason", c.reason());
    m.put("time", c.at().toString());
    try {
      return JSON.writeValueAsBytes(m);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e); // a map of strings and numbers always serialises
    }
  }

  /** Engine loop thread: only queues. */
  @Override
  public void stateChanged(StateChange c) {
    if (closing) return;
    if (!queue.offer(body(cluster, c))) {
      count("dropped");
      long n;
      synchronized (this) {
        n = ++dropped;
      }
      if (n == 1 || n % 100 == 0) {
        log.warn(
            "webhook queue full ({} pending): notification dropped",
            QUEUE_CAPACITY,
            kv("event", "webhook"),
            kv("result", "dropped"),
            kv("dropped", n),
            kv("vhid", c.vhid()),
            kv("to", c.to().name()));
      }
    }
  }

  /**
   * Delivers what is queued for at most {@code drain} (e.g. the shutdown's own changes), then
   * stops.
   */
  public void close(Duration drain) {
    closing = true;
    long deadline = System.nanoTime() + drain.toNanos();
    try {
      while (!queue.isEmpty() && System.nanoTime() < deadline) Thread.sleep(20);
      if (!queue.offer(STOP)) worker.interrupt();
      worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    worker.interrupt();
  }

  @Override
  public void close() {
    close(Duration.ZERO);
  }

  private void work() {
    while (true) {
      byte[] body;
      try {
        body = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      if (body == STOP) return;
      try {
        deliver(body);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.error("webhook delivery failed", e); // never lets the worker die
      }
    }
  }

  private void deliver(byte[] body) throws InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("User-Agent", "carp-agent")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    String problem = null;
    for (int attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) Thread.sleep(delay(attempt));
      try {
        int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        attempt(status / 100 + "xx");
        if (status / 100 == 2) {
          count("delivered");
          log.debug(
              "webhook delivered",
              kv("event", "webhook"),
              kv("result", "delivered"),
              kv("attempts", attempt + 1));
          return;
        }
        problem = "HTTP " + status;
        if (status / 100 == 4 && status != 408 && status != 429)
          break; // the same body would be refused again
      } catch (HttpTimeoutException e) {
        attempt("timeout");
        problem = "no answer within " + timeout.toMillis() + " ms";
      } catch (IOException e) {
        attempt("error");
        problem = e.toString();
      }
      if (closing && attempt < retries) break; // do not hold the shutdown up with backoffs
    }
    count("failed");
    String shown = WebhookUrl.redacted(url.toString());
    log.warn(
        "webhook {} failed: {}",
        shown,
        problem,
        kv("event", "webhook"),
        kv("result", "failed"),
        kv("url", shown),
        kv("error", problem));
  }

  private long delay(int attempt) {
    long ms = backoff.toMillis() << Math.min(attempt - 1, 16);
    return Math.min(ms, MAX_BACKOFF.toMillis());
  }

  private void count(String result) {
    if (metrics != null) metrics.webhookDeliveries.labelValues(result).inc();
  }

  private void attempt(String outcome) {
    if (metrics != null) metrics.webhookAttempts.labelValues(outcome).inc();
  }
}
