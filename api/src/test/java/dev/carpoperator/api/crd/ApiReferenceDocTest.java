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
 * docs/api-reference.md names every spec field of the committed CRDs, so the reference cannot
 * silently go stale.
 */
class ApiReferenceDocTest {
  @Test
  void everySpecFieldIsDocumented() throws IOException {
    String doc = Files.readString(Path.of("..", "docs", "api-reference.md"));
    List<String> missing = new ArrayList<>();
    try (Stream<Path> crds = Files.list(Path.of("..", "crds"))) {
      for (Path crd : crds.toList()) {
        JsonNode spec =
            new ObjectMapper(new YAMLFactory())
                .readTree(crd.toFile())
                .at("/spec/versions/0/schema/openAPIV3Schema/properties/spec");
        List<String> paths = new ArrayList<>();
        walk(spec, "spec", paths);
        for (String p : paths) {
          String documented = p.replaceAll("\\.on(Startup|Master|Backup)", ".<when>");
          if (!doc.contains("`" + documented + "`"))
            missing.add(documented + " (" + crd.getFileName() + ")");
        }
      }
    }
    assertThat(missing).as("fields missing from docs/api-reference.md").isEmpty();
  }

  private static void walk(JsonNode schema, String path, List<String> out) {
    JsonNode props = schema.get("properties");
    if (props == null) return;
    for (Map.Entry<String, JsonNode> e : props.properties()) {
      String p = path + "." + e.getKey();
      out.add(p);
      // Kubernetes' own types (tolerations, resources) are documented upstream.
      if (p.endsWith(".tolerations") || p.endsWith(".resources")) continue;
      JsonNode v = e.getValue();
      if ("object".equals(v.path("type").asText())) walk(v, p, out);
      if ("array".equals(v.path("type").asText())
          && "object".equals(v.path("items").path("type").asText()))
        walk(v.get("items"), p + "[]", out);
    }
  }
}
