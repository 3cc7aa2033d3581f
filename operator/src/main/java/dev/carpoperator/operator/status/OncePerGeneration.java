package dev.carpoperator.operator.status;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Says a problem of a resource's spec once per generation, not on every reconcile (agents' reports
 * reconcile an address every few seconds). One entry per resource that has the problem; it goes
 * when the problem does.
 */
public final class OncePerGeneration {
  private final Map<String, Long> saidAt = new ConcurrentHashMap<>();

  /** True when {@code present} and this generation of {@code resource} has not been told yet. */
  public boolean due(HasMetadata resource, boolean present) {
    String name = resource.getMetadata().getName();
    if (!present) {
      saidAt.remove(name);
      return false;
    }
    Long generation = resource.getMetadata().getGeneration();
    return !Objects.equals(saidAt.put(name, generation), generation);
  }

  /** Forgets the resources not in {@code names} (deleted ones: nothing else removes them). */
  public void retainOnly(java.util.Set<String> names) {
    saidAt.keySet().retainAll(names);
  }

  /** How many resources are remembered. */
  public int size() {
    return saidAt.size();
  }
}
