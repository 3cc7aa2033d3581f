package dev.carpoperator.operator.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;

/**
 * Status patches carry only what the operator owns (a fresh object with name and status, as JOSDK
 * recommends for server-side apply), and are skipped when nothing changed.
 */
public final class StatusPatches {
  private static final ObjectMapper JSON = new ObjectMapper();

  private StatusPatches() {}

  public static <S, R extends CustomResource<?, S>> R fresh(R current, R empty, S status) {
    empty.setMetadata(
        new ObjectMetaBuilder()
            .withName(current.getMetadata().getName())
            .withNamespace(current.getMetadata().getNamespace())
            .build());
    empty.setStatus(status);
    return empty;
  }

  /** True when every field set in {@code next} already has that value in {@code current}. */
  public static boolean sameStatus(Object current, Object next) {
    JsonNode cur = JSON.valueToTree(current);
    JsonNode nxt = JSON.valueToTree(next);
    return contains(cur, nxt);
  }

  private static boolean contains(JsonNode cur, JsonNode nxt) {
    if (nxt == null || nxt.isNull()) return true;
    if (nxt instanceof ObjectNode obj) {
      if (!(cur instanceof ObjectNode)) return false;
      var it = obj.fields();
      while (it.hasNext()) {
        var e = it.next();
        if (!contains(cur.get(e.getKey()), e.getValue())) return false;
      }
      return true;
    }
    return nxt.equals(cur);
  }
}
