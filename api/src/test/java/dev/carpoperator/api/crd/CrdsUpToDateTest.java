package dev.carpoperator.api.crd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * crds/ at the top of the repository holds the committed CRD YAML (the Helm chart and users apply
 * it). It must be exactly what the model classes generate. To refresh it after changing the model:
 * {@code ./carp crds}.
 */
class CrdsUpToDateTest {
  static final Path COMMITTED = Path.of("..", "crds");

  @Test
  void committedCrdsMatchTheModel() throws IOException {
    List<Path> fresh = CrdGeneration.generateInto(Path.of("target", "generated-crds"));
    assertThat(fresh).hasSize(CrdGeneration.RESOURCES.size());

    if (Boolean.parseBoolean(System.getenv("CARP_UPDATE_CRDS"))) {
      Files.createDirectories(COMMITTED);
      for (Path f : fresh)
        Files.copy(f, COMMITTED.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
    }
    for (Path f : fresh) {
      Path committed = COMMITTED.resolve(f.getFileName());
      assertThat(committed).as("crds/%s is missing: run ./carp crds", f.getFileName()).exists();
      assertThat(Files.readString(committed))
          .as(
              "crds/%s is stale: the model classes changed; run ./carp crds and commit the result",
              f.getFileName())
          .isEqualTo(Files.readString(f));
    }
  }
}
