package dev.carpoperator.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * metav1.Condition bookkeeping: lastTransitionTime moves only when the status of a condition
 * changes.
 */
public final class Conditions {
  private Conditions() {}

  public static List<Condition> set(
      List<Condition> current,
      String type,
      boolean status,
      String reason,
      String message,
      Long generation,
      Instant now) {
    List<Condition> out = new ArrayList<>(current == null ? List.of() : current);
    String s = status ? "True" : "False";
    Condition old = out.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    String since =
        old != null && s.equals(old.getStatus())
            ? old.getLastTransitionTime()
            : now.truncatedTo(ChronoUnit.SECONDS).toString();
    out.removeIf(c -> type.equals(c.getType()));
    out.add(
        new ConditionBuilder()
            .withType(type)
            .withStatus(s)
            .withReason(reason)
            .withMessage(message)
            .withObservedGeneration(generation)
            .withLastTransitionTime(since)
            .build());
    out.sort((a, b) -> a.getType().compareTo(b.getType()));
    return out;
  }

  public static boolean isTrue(List<Condition> conditions, String type) {
    return conditions != null
        && conditions.stream()
            .anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
  }

  public static String reason(List<Condition> conditions, String type) {
    return conditions == null
        ? null
        : conditions.stream()
            .filter(c -> type.equals(c.getType()))
            .map(Condition::getReason)
            .findFirst()
            .orElse(null);
  }
}
