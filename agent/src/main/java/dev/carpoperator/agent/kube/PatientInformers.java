package dev.carpoperator.agent.kube;

import static net.logstash.logback.argument.StructuredArguments.kv;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Informers whose first list waits out an API server that is down or overloaded. fabric8's default
 * gives up on a failed first list, and the agent then exited. That happened after an API server
 * restart ("429: storage is (re)initializing"), and a DaemonSet of agents crash-looped for nothing.
 * A refusal that waiting cannot fix (401, 403, 404, a bad request) still ends the first list with
 * its error, as before.
 */
final class PatientInformers {
  private static final Logger log = LoggerFactory.getLogger(PatientInformers.class);

  private PatientInformers() {}

  /**
   * Starts an informer and returns once its first list is in; retries that list while the API
   * server is unreachable or answers 429 or 5xx.
   */
  static <T> SharedIndexInformer<T> run(
      Informable<T> source, ResourceEventHandler<? super T> handler, String what) {
    SharedIndexInformer<T> informer = source.runnableInformer(0);
    informer.addEventHandler(handler);
    AtomicBoolean told = new AtomicBoolean();
    informer.exceptionHandler(
        (started, t) -> {
          if (started) return !(t instanceof WatcherException); // fabric8's default
          boolean retry = worthWaitingFor(t);
          if (retry && told.compareAndSet(false, true))
            log.warn(
                "cannot list {} from the API server yet ({}); retrying until it answers",
                what,
                t.getMessage(),
                kv("event", "api-unavailable"),
                kv("resource", what));
          return retry;
        });
    return informer.run();
  }

  /** Whether a failed request may succeed later without anyone changing anything. */
  static boolean worthWaitingFor(Throwable t) {
    // the informer wraps the API server's answer in a code-less exception: the first code counts
    for (Throwable c = t; c != null; c = c.getCause())
      if (c instanceof KubernetesClientException e && e.getCode() > 0) {
        int code = e.getCode();
        return code == 429 || code >= 500; // throttled, server trouble
      }
    return true; // no HTTP answer: connection refused, reset, timed out
  }
}
