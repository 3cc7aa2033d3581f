package dev.carpoperator.operator.helm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carpoperator.testing.kube.Helm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** What the Helm tests read from the chart, the repository and rendered objects. */
final class ChartFacts {
  static final String DOC_BEGIN = "<!-- values-reference:begin";
  static final String DOC_END = "<!-- values-reference:end -->";
  private static final Pattern METRIC_DECLARATION =
      Pattern.compile("(?:name|builder)\\(\\s*\"((?:carp|operator_sdk)_[a-z0-9_]+)\"");
  private static final Pattern METRIC_REFERENCE =
      Pattern.compile("\\b(carp_[a-z0-9_]+|operator_sdk_[a-z0-9_]+)\\b");

  /** Labels the chart's PodMonitor adds; not metric names. */
  private static final Set<String> LABELS = Set.of("carp_cluster");

  private ChartFacts() {}

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode yaml(Path file) {
    try {
      return Helm.YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode json(Path file) {
    try {
      return Helm.JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The container's environment as the kubelet would give it to the process: plain values, and the
   * two downward API fields the chart uses. Anything else fails, so that a new kind of reference
   * gets a test.
   */
  static Map<String, String> resolvedEnv(JsonNode container, String namespace, String podName) {
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode e : container.path("env")) {
      String name = e.path("name").asText();
      if (e.hasNonNull("value")) {
        env.put(name, e.path("value").asText());
      } else if (!e.has("valueFrom")) {
        env.put(
            name,
            ""); // value "": the API server stores the variable without a value, the kubelet sets
        // it empty
      } else {
        String field = e.path("valueFrom").path("fieldRef").path("fieldPath").asText("");
        switch (field) {
          case "metadata.namespace" -> env.put(name, namespace);
          case "metadata.name" -> env.put(name, podName);
          default ->
              throw new AssertionError(
                  "the chart's env " + name + " uses a reference the test does not resolve: " + e);
        }
      }
    }
    return env;
  }

  /** A copy with every number as a decimal without trailing zeros, so that 65535 equals 65535.0. */
  static JsonNode numbersNormalized(JsonNode node) {
    if (node.isNumber())
      return com.fasterxml.jackson.databind.node.DecimalNode.valueOf(
          node.decimalValue().stripTrailingZeros());
    if (node.isObject()) {
      var copy = Helm.JSON.createObjectNode();
      node.properties().forEach(e -> copy.set(e.getKey(), numbersNormalized(e.getValue())));
      return copy;
    }
    if (node.isArray()) {
      var copy = Helm.JSON.createArrayNode();
      node.forEach(e -> copy.add(numbersNormalized(e)));
      return copy;
    }
    return node;
  }

  /** Metric names declared in the agent's and the operator's sources, without the _total suffix. */
  static Set<String> declaredMetrics() {
    Set<String> names = new TreeSet<>();
    for (String module : List.of("agent", "operator")) {
      try (Stream<Path> files =
          Files.walk(Helm.repositoryRoot().resolve(module).resolve("src/main/java"))) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          Matcher m = METRIC_DECLARATION.matcher(read(f));
          while (m.find()) names.add(base(m.group(1)));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return names;
  }

  /** carp_* and operator_sdk_* metric names a PromQL text refers to (label names left out). */
  static Set<String> referencedMetrics(String promql) {
    Set<String> names = new TreeSet<>();
    Matcher m = METRIC_REFERENCE.matcher(promql);
    while (m.find()) if (!LABELS.contains(m.group(1))) names.add(m.group(1));
    return names;
  }

  /** A series name without the suffixes Prometheus exposition adds to counters and histograms. */
  static String base(String metric) {
    return metric.replaceFirst("_(total|bucket|sum|count)$", "");
  }

  /** Every PromQL expression of a Grafana dashboard. */
  static List<String> dashboardExpressions(JsonNode dashboard) {
    List<String> exprs = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels"))
      for (JsonNode t : panel.path("targets")) exprs.add(t.path("expr").asText());
    for (JsonNode v : dashboard.path("templating").path("list"))
      if (v.has("definition")) exprs.add(v.path("definition").asText());
    return exprs;
  }

  /**
   * The values reference of docs/install.md: one row per leaf of values.schema.json (objects whose
   * properties the schema lists are descended into), with the default from values.yaml and the
   * schema's description.
   */
  static String valuesReference(JsonNode schema, JsonNode values) {
    StringBuilder sb = new StringBuilder("| Key | Default | Description |\n|---|---|---|\n");
    rows(sb, "", schema, values);
    return sb.toString();
  }

  private static void rows(StringBuilder sb, String prefix, JsonNode schema, JsonNode values) {
    var props = schema.path("properties").properties();
    for (var entry : props) {
      String key = prefix.isEmpty() ? entry.getKey() : prefix + "." + entry.getKey();
      JsonNode sub = entry.getValue();
      JsonNode value = values == null ? null : values.get(entry.getKey());
      if (sub.has("properties")) {
        rows(sb, key, sub, value);
      } else {
        sb.append("| `")
            .append(key)
            .append("` | ")
            .append(defaultText(value))
            .append(" | ")
            .append(sub.path("description").asText("").replace("|", "\\|"))
            .append(" |\n");
      }
    }
  }

  private static String defaultText(JsonNode value) {
    if (value == null || value.isMissingNode()) return "";
    String text;
    if (value.isTextual()) text = value.asText().isEmpty() ? "\"\"" : value.asText();
    else if (value.isContainerNode()) text = value.toString();
    else text = value.asText();
    return "`" + text.replace("|", "\\|") + "`";
  }

  /**
   * The generated part of a document: from the begin marker's line to the end marker, both
   * included.
   */
  static String generatedSection(String doc) {
    int b = doc.indexOf(DOC_BEGIN);
    int e = doc.indexOf(DOC_END);
    if (b < 0 || e < b) return null;
    return doc.substring(b, e + DOC_END.length());
  }

  static String section(String table) {
    return DOC_BEGIN
        + ": generated from helm/carp-operator/values.yaml and values.schema.json by HelmChartTest;"
        + " CARP_UPDATE_DOCS=true refreshes it -->\n"
        + table
        + DOC_END;
  }
}
