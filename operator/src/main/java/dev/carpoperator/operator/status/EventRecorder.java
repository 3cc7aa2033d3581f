package dev.carpoperator.operator.status;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records core/v1 Events on the project's resources (in "default" for the cluster-scoped ones) and
 * on the Services it serves (in their namespace); a failure to record is logged, never thrown.
 */
public final class EventRecorder {
  private static final Logger log = LoggerFactory.getLogger(EventRecorder.class);

  /** Events of cluster-scoped objects live in the default namespace, as kubectl expects. */
  public static final String EVENT_NAMESPACE = "default";

  private EventRecorder() {}

  public static void record(
      KubernetesClient client, HasMetadata on, boolean warning, String reason, String message) {
    String now = Instant.now().toString();
    String namespace =
        on.getMetadata().getNamespace() == null ? EVENT_NAMESPACE : on.getMetadata().getNamespace();
    try {
      client
          .v1()
          .events()
          .inNamespace(namespace)
          .resource(
              new EventBuilder()
                  .withNewMetadata()
                  .withGenerateName(on.getMetadata().getName() + ".")
                  .withNamespace(namespace)
                  .endMetadata()
                  .withInvolvedObject(
                      new ObjectReferenceBuilder()
                          .withApiVersion(on.getApiVersion())
                          .withKind(on.getKind())
                          .withName(on.getMetadata().getName())
                          .withNamespace(on.getMetadata().getNamespace())
                          .withUid(on.getMetadata().getUid())
                          .build())
                  .withType(warning ? "Warning" : "Normal")
                  .withReason(reason)
                  .withMessage(message)
                  .withFirstTimestamp(now)
                  .withLastTimestamp(now)
                  .withCount(1)
                  .withNewSource()
                  .withComponent("carp-operator")
                  .endSource()
                  .withReportingComponent("carp-operator")
                  .withReportingInstance(System.getenv().getOrDefault("POD_NAME", "carp-operator"))
                  .build())
          .create();
    } catch (RuntimeException ex) {
      log.warn(
          "cannot record event {} on {}: {}", reason, on.getMetadata().getName(), ex.toString());
    }
  }
}
