package dev.carpoperator.testing.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentPodsTest {
  @Test
  void envValuesExpandEarlierVariablesAsTheKubeletDoes() {
    Map<String, String> earlier = Map.of("NODE_NAME", "mickey");
    assertThat(AgentPods.expand("/run/carp-operator/$(NODE_NAME)", earlier))
        .isEqualTo("/run/carp-operator/mickey");
    assertThat(AgentPods.expand("$(NODE_NAME)-$(NODE_NAME)", earlier)).isEqualTo("mickey-mickey");
    assertThat(AgentPods.expand("$(UNKNOWN)/x", earlier))
        .as("unknown: left as written")
        .isEqualTo("$(UNKNOWN)/x");
    assertThat(AgentPods.expand("$$(NODE_NAME)", earlier)).as("escaped").isEqualTo("$(NODE_NAME)");
    assertThat(AgentPods.expand("plain $ (text", earlier)).isEqualTo("plain $ (text");
  }
}
