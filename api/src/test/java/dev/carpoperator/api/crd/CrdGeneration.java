package dev.carpoperator.api.crd;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.carpoperator.api.v1alpha1.AddressPool;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.ItemMaxLength;
import dev.carpoperator.api.v1alpha1.ListMapKeys;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.crdv2.generator.CRDPostProcessor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.ParameterizedType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Generates the CRD YAML from the model classes with fabric8's CRD generator. A post-processor puts
 * the printer columns in the order the annotations declare them (the generator does not keep it),
 * so `kubectl get va` reads VHID, ADDRESSES, MASTER, READY, AGE; and it applies {@link ListMapKeys}
 * and {@link ItemMaxLength} (the generator's own schema customizer replaced the neighbouring
 * properties instead of merging).
 */
public final class CrdGeneration {
  public static final List<Class<? extends HasMetadata>> RESOURCES =
      List.of(VirtualAddress.class, FirewallCluster.class, AddressPool.class);

  private CrdGeneration() {}

  /** Writes one YAML file per CRD into {@code dir} and returns the files, sorted by name. */
  public static List<Path> generateInto(Path dir) {
    try {
      Files.createDirectories(dir);
      try (Stream<Path> old = Files.list(dir)) {
        for (Path p : old.filter(p -> p.toString().endsWith(".yaml")).toList()) Files.delete(p);
      }
      Map<String, Class<? extends HasMetadata>> byKind =
          RESOURCES.stream()
              .collect(java.util.stream.Collectors.toMap(c -> c.getSimpleName(), c -> c));
      new CRDGenerator()
          .customResourceClasses(RESOURCES)
          .forCRDVersions("v1")
          .withPostProcessor(
              new CRDPostProcessor() {
                @Override
                public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
                  return postProcess((CustomResourceDefinition) crd, byKind);
                }
              })
          .inOutputDir(dir.toFile())
          .generate();
      // The generator names files <plural>.<group>-v1.yml; keep the conventional .yaml ending in
      // the repository.
      try (Stream<Path> generated = Files.list(dir)) {
        for (Path p : generated.filter(p -> p.toString().endsWith("-v1.yml")).toList()) {
          String name = p.getFileName().toString().replace("-v1.yml", ".yaml");
          Files.move(p, p.resolveSibling(name));
        }
      }
      try (Stream<Path> files = Files.list(dir)) {
        return files
            .filter(p -> p.toString().endsWith(".yaml"))
            .sorted(Comparator.comparing(Path::toString))
            .toList();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static HasMetadata postProcess(
      CustomResourceDefinition crd, Map<String, Class<? extends HasMetadata>> byKind) {
    Class<? extends HasMetadata> type = byKind.get(crd.getSpec().getNames().getKind());
    if (type == null) return crd;
    orderPrinterColumns(crd, type);
    // CustomResource<Spec, Status> erases spec and status to Object: take their classes from the
    // type arguments.
    java.lang.reflect.Type[] specAndStatus =
        ((ParameterizedType) type.getGenericSuperclass()).getActualTypeArguments();
    crd.getSpec()
        .getVersions()
        .forEach(
            v -> {
              Map<String, JSONSchemaProps> root =
                  v.getSchema().getOpenAPIV3Schema().getProperties();
              applyListMapKeys(root.get("spec"), (Class<?>) specAndStatus[0]);
              applyListMapKeys(root.get("status"), (Class<?>) specAndStatus[1]);
            });
    return crd;
  }

  /**
   * Walks the schema next to the Java fields and marks the lists annotated with {@link
   * ListMapKeys}.
   */
  private static void applyListMapKeys(JSONSchemaProps schema, Class<?> type) {
    if (schema == null || schema.getProperties() == null) return;
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        JsonProperty renamed = field.getAnnotation(JsonProperty.class);
        String jsonName =
            renamed != null && !renamed.value().isEmpty() ? renamed.value() : field.getName();
        JSONSchemaProps property = schema.getProperties().get(jsonName);
        if (property == null) continue;
        Class<?> valueType = field.getType();
        JSONSchemaProps valueSchema = property;
        if (List.class.isAssignableFrom(valueType)
            && field.getGenericType() instanceof ParameterizedType pt
            && pt.getActualTypeArguments()[0] instanceof Class<?> item) {
          valueType = item;
          valueSchema = property.getItems() == null ? null : property.getItems().getSchema();
          ItemMaxLength itemMax = field.getAnnotation(ItemMaxLength.class);
          if (itemMax != null && valueSchema != null)
            valueSchema.setMaxLength((long) itemMax.value());
          ListMapKeys keys = field.getAnnotation(ListMapKeys.class);
          if (keys != null && valueSchema != null) {
            property.setXKubernetesListType("map");
            property.setXKubernetesListMapKeys(List.of(keys.value()));
            // The API server insists that map keys are required (or defaulted).
            List<String> required =
                new ArrayList<>(
                    valueSchema.getRequired() == null ? List.of() : valueSchema.getRequired());
            for (String k : keys.value()) if (!required.contains(k)) required.add(k);
            required.sort(null);
            valueSchema.setRequired(required);
          }
        }
        if (valueType.getName().startsWith("dev.carpoperator."))
          applyListMapKeys(valueSchema, valueType);
      }
    }
  }

  private static void orderPrinterColumns(
      CustomResourceDefinition crd, Class<? extends HasMetadata> type) {
    List<String> declared =
        Stream.of(type.getAnnotationsByType(AdditionalPrinterColumn.class))
            .map(AdditionalPrinterColumn::name)
            .toList();
    crd.getSpec()
        .getVersions()
        .forEach(
            v -> {
              List<CustomResourceColumnDefinition> columns = v.getAdditionalPrinterColumns();
              if (columns != null)
                columns.sort(Comparator.comparingInt(c -> declared.indexOf(c.getName())));
            });
  }
}
