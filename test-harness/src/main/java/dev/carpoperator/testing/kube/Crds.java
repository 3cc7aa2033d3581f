package dev.carpoperator.testing.kube;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Applies the repository's crds/ to a control plane and waits until the API server serves them. */
public final class Crds {
  private Crds() {}

  public static void install(KubernetesClient client) {
    Path dir = ControlPlaneBinaries.repositoryRoot().resolve("crds");
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        try (InputStream in = Files.newInputStream(f)) {
          CustomResourceDefinition crd =
              client.apiextensions().v1().customResourceDefinitions().load(in).item();
          client.resource(crd).forceConflicts().serverSideApply();
          client
              .apiextensions()
              .v1()
              .customResourceDefinitions()
              .withName(crd.getMetadata().getName())
              .waitUntilCondition(
                  c ->
                      c != null
                          && c.getStatus() != null
                          && c.getStatus().getConditions() != null
                          && c.getStatus().getConditions().stream()
                              .anyMatch(
                                  x ->
                                      "Established".equals(x.getType())
                                          && "True".equals(x.getStatus())),
                  30,
                  TimeUnit.SECONDS);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
