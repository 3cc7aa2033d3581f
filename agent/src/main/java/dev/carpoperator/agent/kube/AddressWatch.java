package dev.carpoperator.agent.kube;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.api.v1alpha1.VirtualAddress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VirtualAddresses an agent lists and watches: only its own cluster's, by the CRD's selectable
 * field {@code spec.cluster}. With every agent watching every address, each kept a copy of all of
 * them (about 250 MiB resident with 1,000 addresses) and the API server sent every change to every
 * agent. An API server that cannot select by the field (the CRD installed without it, or the
 * CustomResourceFieldSelectors feature gate off) answers 400; the agent then watches every address
 * as before, says so once, and the plan still takes only its cluster's.
 */
final class AddressWatch {
  private static final Logger log = LoggerFactory.getLogger(AddressWatch.class);
  static final String CLUSTER_FIELD = "spec.cluster";

  /** The running informer, and whether the API server selects for it. */
  record Started(SharedIndexInformer<VirtualAddress> informer, boolean selected) {}

  private AddressWatch() {}

  static Started start(
      KubernetesClient client,
      String cluster,
      ResourceEventHandler<? super VirtualAddress> handler) {
    try {
      return new Started(
          PatientInformers.run(
              client.resources(VirtualAddress.class).withField(CLUSTER_FIELD, cluster),
              handler,
              "VirtualAddresses of cluster " + cluster),
          true);
    } catch (RuntimeException e) {
      KubernetesClientException refusal = refusal(e);
      if (refusal == null || refusal.getCode() != 400) throw e;
      log.warn(
          "the API server cannot select VirtualAddresses by {} ({}); watching every VirtualAddress"
              + " instead, which costs memory with many addresses. Apply the CRDs of this release"
              + " (Kubernetes 1.31 or later, CustomResourceFieldSelectors enabled) to fix it",
          CLUSTER_FIELD,
          refusal.getMessage(),
          kv("event", "field-selector-unsupported"));
      return new Started(
          PatientInformers.run(client.resources(VirtualAddress.class), handler, "VirtualAddresses"),
          false);
    }
  }

  private static KubernetesClientException refusal(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause())
      if (c instanceof KubernetesClientException k && k.getCode() > 0) return k;
    return null;
  }
}
