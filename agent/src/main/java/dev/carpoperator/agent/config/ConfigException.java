package dev.carpoperator.agent.config;

import java.util.List;

/**
 * A configuration the agent refuses to start with; the message names every bad field and what is
 * wrong.
 */
public class ConfigException extends Exception {
  private final List<String> problems;

  public ConfigException(String source, List<String> problems) {
    super("invalid configuration " + source + ":\n  - " + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
