package dev.carpoperator.api.v1alpha1;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * maxLength for the strings of a list. The API server estimates the cost of CEL rules from these
 * bounds and refuses a CRD whose rules could be too expensive. Applied to the CRD schema when it is
 * generated.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
public @interface ItemMaxLength {
  int value();
}
