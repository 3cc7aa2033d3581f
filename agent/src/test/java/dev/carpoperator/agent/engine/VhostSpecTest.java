package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class VhostSpecTest {
  @Test
  void theTextOfASpecNeverHoldsThePassphrase() {
    VhostSpec spec =
        new VhostSpec("lan0", 7, 1, 100, false, "s3cret-passphrase", List.of("192.0.2.10/24"));
    assertThat(spec.toString())
        .doesNotContain("s3cret")
        .contains("passphrase=(set)", "vhid=7", "192.0.2.10/24");
    assertThat(new VhostSpec("lan0", 7, 1, 100, false, "", List.of()).toString())
        .contains("passphrase=(none)");
  }
}
