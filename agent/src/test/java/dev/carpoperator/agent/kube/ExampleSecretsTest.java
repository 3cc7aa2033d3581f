package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ExampleSecretsTest {
  @Test
  void everyValueInTheShippedExamplesIsRecognised() throws Exception {
    Path examples = Path.of("..", "examples");
    int seen = 0;
    for (String dir : new String[] {"active-standby", "active-active"}) {
      Matcher m =
          Pattern.compile("(?m)^\\s+(password|key): (\\S+)$")
              .matcher(Files.readString(examples.resolve(dir).resolve("00-secrets.yaml")));
      while (m.find()) {
        seen++;
        assertThat(ExampleSecrets.isPlaceholder(m.group(2).getBytes(StandardCharsets.UTF_8)))
            .as(m.group(2))
            .isTrue();
      }
    }
    assertThat(seen).isEqualTo(4);
  }

  @Test
  void randomValuesAreNot() {
    assertThat(ExampleSecrets.isPlaceholder("q3S9x0mLk2vB8tRz".getBytes(StandardCharsets.UTF_8)))
        .isFalse();
    assertThat(ExampleSecrets.isPlaceholder(new byte[32])).isFalse();
  }
}
