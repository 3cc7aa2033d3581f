package dev.carpoperator.api.v1alpha1;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a list as a map keyed by these item fields ({@code x-kubernetes-list-type: map}), so
 * server-side apply merges entries written by different field managers (each agent its own node's
 * entry) instead of replacing the list. Applied to the CRD schema when it is generated.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
public @interface ListMapKeys {
  String[] value();
}
