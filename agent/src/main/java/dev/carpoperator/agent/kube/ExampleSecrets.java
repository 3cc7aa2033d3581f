package dev.carpoperator.agent.kube;

import java.nio.charset.StandardCharsets;

/**
 * Recognises the placeholder values of the shipped examples ("change-me-..."), which users forget
 * to replace.
 */
public final class ExampleSecrets {
  private ExampleSecrets() {}

  public static boolean isPlaceholder(byte[] value) {
    String s = new String(value, StandardCharsets.UTF_8).strip().toLowerCase(java.util.Locale.ROOT);
    return s.startsWith("change-me") || s.startsWith("changeme");
  }
}
