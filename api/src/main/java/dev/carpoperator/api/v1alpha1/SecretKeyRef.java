package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import java.util.Objects;

/**
 * A key in a Secret. The resources are cluster-scoped, so the Secret's namespace is spelled out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SecretKeyRef {
  @Required
  @JsonPropertyDescription("Name of the Secret.")
  private String name;

  @Required
  @JsonPropertyDescription("Namespace of the Secret (the resources are cluster-scoped).")
  private String namespace;

  @Default("password")
  @JsonPropertyDescription("Key inside the Secret's data.")
  private String key;

  public SecretKeyRef() {}

  public SecretKeyRef(String name, String namespace, String key) {
    this.name = name;
    this.namespace = namespace;
    this.key = key;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    this.namespace = namespace;
  }

  public String getKey() {
    return key;
  }

  public void setKey(String key) {
    this.key = key;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SecretKeyRef r
        && Objects.equals(name, r.name)
        && Objects.equals(namespace, r.namespace)
        && Objects.equals(key, r.key);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, namespace, key);
  }
}
