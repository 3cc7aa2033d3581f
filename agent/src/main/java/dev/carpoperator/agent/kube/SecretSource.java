package dev.carpoperator.agent.kube;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The Secrets an agent reads, from informers: every Secret of its namespace, or, when the chart
 * names them ({@code agent.secretNames}), only those, one informer per name. A watch on one name
 * sends {@code fieldSelector=metadata.name=NAME}, which RBAC authorizes against a Role's {@code
 * resourceNames}: the agents' Role can then grant exactly these Secrets instead of the whole
 * namespace.
 */
public final class SecretSource implements AutoCloseable {
  private final List<SharedIndexInformer<Secret>> informers = new ArrayList<>();
  private final List<String> names;

  private SecretSource(List<String> names) {
    this.names = List.copyOf(names);
  }

  /** Starts watching; {@code names} empty means every Secret of the namespace. */
  public static SecretSource start(
      KubernetesClient client,
      String namespace,
      List<String> names,
      ResourceEventHandler<Secret> handler) {
    SecretSource s = new SecretSource(names);
    if (names.isEmpty()) {
      s.informers.add(
          PatientInformers.run(
              client.secrets().inNamespace(namespace), handler, "Secrets in " + namespace));
    } else {
      for (String name : names)
        s.informers.add(
            PatientInformers.run(
                client.secrets().inNamespace(namespace).withName(name),
                handler,
                "Secret " + namespace + "/" + name));
    }
    return s;
  }

  /**
   * {@code CARP_SECRET_NAMES}: comma-separated Secret names; blank or absent means all of the
   * namespace.
   */
  public static List<String> parseNames(String value) {
    if (value == null || value.isBlank()) return List.of();
    return java.util.Arrays.stream(value.split(","))
        .map(String::strip)
        .filter(n -> !n.isEmpty())
        .distinct()
        .toList();
  }

  public boolean hasSynced() {
    return informers.stream().allMatch(SharedIndexInformer::hasSynced);
  }

  /**
   * Whether this source may hold {@code name} at all (false: the chart's agent.secretNames leaves
   * it out).
   */
  public boolean watches(String name) {
    return names.isEmpty() || names.contains(name);
  }

  public Optional<Secret> find(String name) {
    for (SharedIndexInformer<Secret> i : informers) {
      Optional<Secret> s =
          i.getStore().list().stream()
              .filter(x -> name.equals(x.getMetadata().getName()))
              .findFirst();
      if (s.isPresent()) return s;
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    informers.forEach(SharedIndexInformer::close);
  }
}
