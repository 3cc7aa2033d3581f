package dev.carpoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.config.AgentConfig;
import dev.carpoperator.agent.config.ConfigLoader;
import dev.carpoperator.agent.config.SyncSettings;
import dev.carpoperator.agent.engine.SyncEngine;
import dev.carpoperator.agent.engine.VhostSpec;
import dev.carpoperator.agent.kube.KubePlan;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.SyncSpec;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The two front ends, the standalone YAML and the Kubernetes resources, give the engine the same
 * vhosts and the same sync settings for equivalent input, defaults included.
 */
class FrontEndsAgreeTest {
  private static final String NODE = "mickey";

  /** The standalone file of node mickey. */
  private static List<VhostSpec> standalone(String virtualAddresses) throws Exception {
    AgentConfig c =
        ConfigLoader.parse("node: " + NODE + "\nvirtualAddresses:\n" + virtualAddresses, "t", null);
    return StandaloneConfig.vhostSpecs(c, null);
  }

  /** What mickey's agent runs for these VirtualAddresses (YAML as the API server returns them). */
  private static KubePlan kube(String... virtualAddresses) {
    FirewallCluster fw =
        Serialization.unmarshal(
            """
            apiVersion: carp-operator.dev/v1alpha1
            kind: FirewallCluster
            metadata: {name: fw}
            spec: {}
            """,
            FirewallCluster.class);
    List<VirtualAddress> vas =
        java.util.Arrays.stream(virtualAddresses)
            .map(
                y ->
                    Serialization.unmarshal(
                        "apiVersion: carp-operator.dev/v1alpha1\nkind: VirtualAddress\n" + y,
                        VirtualAddress.class))
            .toList();
    return KubePlan.compute(
        NODE, Map.of(), "fw", fw, vas, ref -> Optional.of("secret"), cidr -> Optional.of("eth0"));
  }

  @Test
  void oneVhidWithDefaults() throws Exception {
    List<VhostSpec> file =
        standalone(
            """
              - {vhid: 7, interface: eth0, addresses: ["192.0.2.7/24"], password: secret}
            """);
    KubePlan plan =
        kube(
            """
            metadata: {name: lan}
            spec:
              cluster: fw
              vhid: 7
              addresses: ["192.0.2.7/24"]
              passwordSecretRef: {name: carp-pass, namespace: carp-system}
            """);
    assertThat(plan.problems()).isEmpty();
    assertThat(plan.vhosts()).isEqualTo(file);
    assertThat(file.getFirst().advbase()).isEqualTo(AgentLimits.ADVBASE_DEFAULT);
    assertThat(file.getFirst().advskew()).isEqualTo(AgentLimits.ADVSKEW_DEFAULT);
  }

  @Test
  void explicitDefaultsAreDroppedTheSameWay() throws Exception {
    // Explicit nulls (an API server without the CRD's defaults) fall back to the same numbers.
    KubePlan plan =
        kube(
            """
            metadata: {name: lan}
            spec:
              cluster: fw
              vhid: 7
              addresses: ["192.0.2.7/24"]
              advbase: null
              advskew: null
              passwordSecretRef: {name: carp-pass, namespace: carp-system}
            """);
    assertThat(plan.vhosts())
        .isEqualTo(
            standalone(
                """
                  - {vhid: 7, interface: eth0, addresses: ["192.0.2.7/24"], password: secret}
                """));
  }

  @Test
  void fastProfileWithPeersAndThisNodesAdvskew() throws Exception {
    List<VhostSpec> file =
        standalone(
            """
              - vhid: 9
                interface: eth0
                addresses: ["192.0.2.9/24", "2001:db8::9/64"]
                profile: fast
                advbase: 0
                advskew: 20
                peers: [192.0.2.2]
                password: secret
            """);
    KubePlan plan =
        kube(
            """
            metadata: {name: lan}
            spec:
              cluster: fw
              vhid: 9
              addresses: ["192.0.2.9/24", "2001:db8::9/64"]
              profile: fast
              advbase: 0
              advskew: 100
              nodes: [{name: mickey, advskew: 20}, {name: minnie, advskew: 40}]
              peers: [192.0.2.2]
              passwordSecretRef: {name: carp-pass, namespace: carp-system}
            """);
    assertThat(plan.vhosts()).isEqualTo(file);
  }

  @Test
  void loadBalancingGivesTheSameVhostsAndShare() throws Exception {
    List<VhostSpec> file =
        standalone(
            """
              - interface: eth0
                addresses: ["192.0.2.10/24"]
                balancing: ip-stealth
                advskew: 100
                carpNodes: [{vhid: 3, advskew: 0}, {vhid: 4}]
                password: secret
            """);
    KubePlan plan =
        kube(
            """
            metadata: {name: lan}
            spec:
              cluster: fw
              addresses: ["192.0.2.10/24"]
              balancing: ip-stealth
              carpNodes:
                - {vhid: 3, nodes: [{name: mickey, advskew: 0}, {name: minnie, advskew: 100}]}
                - {vhid: 4, nodes: [{name: mickey, advskew: 100}, {name: minnie, advskew: 0}]}
              passwordSecretRef: {name: carp-pass, namespace: carp-system}
            """);
    assertThat(plan.problems()).isEmpty();
    assertThat(plan.vhosts()).isEqualTo(file).hasSize(2);
    assertThat(file.getFirst().share()).isNotNull();
  }

  @Test
  void syncSettingsAgreeWithDefaults() throws Exception {
    AgentConfig c =
        ConfigLoader.parse(
            """
            node: mickey
            virtualAddresses: [{vhid: 1, interface: eth0, addresses: ["192.0.2.1/24"]}]
            sync: {interface: eth2, peers: [198.51.100.2], mode: bsd-compatible}
            """,
            "t",
            null);
    SyncSpec spec =
        Serialization.unmarshal(
            """
            interface: eth2
            peers: [198.51.100.2]
            mode: bsd-compatible
            """,
            SyncSpec.class);
    SyncEngine.Settings file = SyncSettings.of(c.sync(), null);
    SyncEngine.Settings crd = SyncSettings.of(spec, null);
    assertThat(crd).usingRecursiveComparison().ignoringFields("hostId").isEqualTo(file);
    assertThat(file.maxDelayMillis()).isEqualTo(AgentLimits.SYNC_MAX_DELAY_MILLIS_DEFAULT);
    assertThat(file.bulkTimeoutSeconds()).isEqualTo(AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_DEFAULT);
  }

  @Test
  void syncSettingsAgreeWhenSet() throws Exception {
    byte[] key = "0123456789abcdef0123".getBytes(StandardCharsets.UTF_8);
    SyncSpec spec =
        Serialization.unmarshal(
            """
            interface: eth2
            encrypt: true
            maxDelayMillis: 10
            realtimePriority: 20
            bulkUpdateTimeoutSeconds: 120
            keySecretRef: {name: sync-key, namespace: carp-system}
            """,
            SyncSpec.class);
    var sync =
        new dev.carpoperator.agent.config.SyncConfig(
            "eth2", null, null, "sync.key", true, 120, null, 10, 20);
    assertThat(SyncSettings.of(spec, key))
        .usingRecursiveComparison()
        .ignoringFields("hostId")
        .isEqualTo(SyncSettings.of(sync, key));
    assertThat(SyncSettings.of(spec, key).realtimePriority()).isEqualTo(20);
  }
}
