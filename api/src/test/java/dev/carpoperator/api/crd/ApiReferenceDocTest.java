package dev.carpoperator.api.crd;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/api-reference.md names every spec and status field of the committed CRDs, so the reference
 * cannot silently go stale.
 */
class ApiReferenceDocTest {
  @Test
  void everySpecAndStatusFieldIsDocumented() throws IOException {
    String doc = Files.readString(Path.of("..", "docs", "api-reference.md"));
    List<String> missing = new ArrayList<>();
    try (Stream<Path> crds = Files.list(Path.of("..", "crds"))) {
      for (Path crd : crds.toList()) {
        JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(crd.toFile());
        JsonNode schema = root.at("/spec/versions/0/schema/openAPIV3Schema/properties");
        // In the resource's own section: both resources have e.g. status.nodes[].demotion.
        String section = section(doc, root.at("/spec/names/kind").asText());
        List<String> paths = new ArrayList<>();
        walk(schema.get("spec"), "spec", paths);
        assertThat(schema.has("status")).as(crd + " has a status").isTrue();
        walk(schema.get("status"), "status", paths);
        for (String p : paths) {
          String documented = p.replaceAll("\\.on(Startup|Master|Backup)", ".<when>");
          if (!section.contains("`" + documented + "`"))
            missing.add(documented + " (" + crd.getFileName() + ")");
        }
      }
    }
    assertThat(missing).as("fields missing from docs/api-reference.md").isEmpty();
  }

  /** From the "## Kind" heading to the next "## " heading. */
  private static String section(String doc, String kind) {
    int start = doc.indexOf("\n## " + kind);
    assertThat(start).as("docs/api-reference.md has a section ## " + kind).isNotNegative();
    int end = doc.indexOf("\n## ", start + 1);
    return end < 0 ? doc.substring(start) : doc.substring(start, end);
  }

  private static void walk(JsonNode schema, String path, List<String> out) {
    JsonNode props = schema.get("properties");
    if (props == null) return;
    for (Map.Entry<String, JsonNode> e : props.properties()) {
      String p = path + "." + e.getKey();
      out.add(p);
      // Kubernetes' own types (tolerations, resources, metav1.Condition) are documented upstream.
      if (p.endsWith(".tolerations") || p.endsWith(".resources") || p.endsWith(".conditions"))
        continue;
      JsonNode v = e.getValue();
      if ("object".equals(v.path("type").asText())) walk(v, p, out);
      if ("array".equals(v.path("type").asText())
          && "object".equals(v.path("items").path("type").asText()))
        walk(v.get("items"), p + "[]", out);
    }
  }
}
