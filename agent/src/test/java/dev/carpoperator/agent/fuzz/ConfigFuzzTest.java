package dev.carpoperator.agent.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.carpoperator.agent.config.AgentConfig;
import dev.carpoperator.agent.config.ConfigException;
import dev.carpoperator.agent.config.ConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The standalone config parser on arbitrary text: it returns a config or throws {@link
 * ConfigException} with at least one non-empty problem; never an NPE, ClassCastException,
 * StackOverflowError or any other exception. Seeds: the documented example and small valid and
 * invalid files, see {@link FuzzSeeds}.
 */
class ConfigFuzzTest {
  /**
   * passwordFile and keyFile resolve here; holds a readable sync.key and password file so those
   * paths are taken.
   */
  private static final Path BASE = baseDir();

  @FuzzTest(maxDuration = "60s")
  void yaml(byte[] data) {
    String text = new String(data, StandardCharsets.UTF_8);
    try {
      AgentConfig config = ConfigLoader.parse(text, "fuzz.yaml", BASE);
      CarpAdvertFuzzTest.check(
          config != null && !config.virtualAddresses().isEmpty(),
          "accepted without virtual addresses");
    } catch (ConfigException e) {
      CarpAdvertFuzzTest.check(
          !e.problems().isEmpty() && e.problems().stream().noneMatch(p -> p == null || p.isBlank()),
          "a ConfigException without a problem named: " + e.problems());
    }
  }

  private static Path baseDir() {
    try {
      Path dir = Files.createTempDirectory("carp-config-fuzz");
      dir.toFile().deleteOnExit(); // registered first, deleted last
      for (String name : new String[] {"sync.key", "password"}) {
        Path f = Files.writeString(dir.resolve(name), "0123456789abcdef0123456789abcdef\n");
        f.toFile().deleteOnExit();
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
