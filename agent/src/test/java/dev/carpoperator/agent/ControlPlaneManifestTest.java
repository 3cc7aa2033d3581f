package dev.carpoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.config.AgentConfig;
import dev.carpoperator.agent.config.ConfigLoader;
import dev.carpoperator.agent.health.CheckSpec;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlPlaneManifestTest {
  static final List<String> FLAGS =
      List.of(
          "--node",
          "cp1",
          "--interface",
          "eth0",
          "--address",
          "192.0.2.50/24",
          "--vhid",
          "50",
          "--advskew",
          "100");

  @Test
  void theConfigIsAValidAgentConfigThatChecksTheLocalApiServer(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve(ControlPlaneManifest.PASSWORD_FILE), "s3cret\n");
    String yaml = ControlPlaneManifest.config(ControlPlaneManifest.parse(FLAGS));
    AgentConfig c = ConfigLoader.parse(yaml, "control-plane.yaml", dir); // validates it whole
    assertThat(c.node()).isEqualTo("cp1");
    assertThat(c.preempt()).isTrue();
    assertThat(c.runtimeDirectory()).isEqualTo(ControlPlaneManifest.RUNTIME_DIR);
    var va = c.virtualAddresses().getFirst();
    assertThat(va.vhid()).isEqualTo(50);
    assertThat(va.advskew()).isEqualTo(100);
    assertThat(va.addresses()).containsExactly("192.0.2.50/24");
    assertThat(ConfigLoader.password(va, dir)).isEqualTo("s3cret");
    CheckSpec check = va.addressChecks().checks().getFirst();
    assertThat(check.target())
        .isEqualTo(new CheckSpec.Http(true, "127.0.0.1", 6443, "/livez", true));
  }

  @Test
  void thePodIsAHostNetworkStaticPodReadingItsConfigFromTheHost() {
    String yaml =
        ControlPlaneManifest.pod(
            ControlPlaneManifest.parse(
                new java.util.ArrayList<>(FLAGS) {
                  {
                    addAll(List.of("--image", "registry.example/carp-agent:1.2"));
                  }
                }));
    Pod pod = Serialization.unmarshal(yaml, Pod.class);
    assertThat(pod.getMetadata().getNamespace()).isEqualTo("kube-system");
    assertThat(pod.getSpec().getHostNetwork()).isTrue();
    assertThat(pod.getSpec().getPriorityClassName()).isEqualTo("system-node-critical");
    var container = pod.getSpec().getContainers().getFirst();
    assertThat(container.getImage()).isEqualTo("registry.example/carp-agent:1.2");
    assertThat(container.getArgs())
        .containsExactly("--config", "/etc/carp-operator/control-plane.yaml");
    assertThat(container.getSecurityContext().getCapabilities().getAdd())
        .containsExactly("NET_ADMIN", "NET_RAW");
    assertThat(pod.getSpec().getVolumes())
        .anySatisfy(
            v -> {
              assertThat(v.getHostPath().getPath()).isEqualTo("/etc/carp-operator");
              assertThat(v.getHostPath().getType()).isEqualTo("Directory");
            });
  }

  @Test
  void missingOrBadFlagsSayWhatToGive() {
    assertThatThrownBy(() -> ControlPlaneManifest.parse(List.of("--node", "cp1")))
        .hasMessageContaining("--interface NIC is required");
    assertThatThrownBy(
            () ->
                ControlPlaneManifest.parse(
                    List.of("--node", "cp1", "--interface", "eth0", "--vhid", "50")))
        .hasMessageContaining("--address is required");
    assertThatThrownBy(
            () ->
                ControlPlaneManifest.parse(
                    List.of("--node", "a", "--interface", "e", "--address", "x", "--vhid", "300")))
        .hasMessage("--vhid must be 1-255, was 300");
    assertThatThrownBy(() -> ControlPlaneManifest.parse(List.of("--bogus", "1")))
        .hasMessage("unknown flag --bogus");
    assertThat(ControlPlaneManifest.run(List.of("nonsense"))).isEqualTo(2);
  }
}
