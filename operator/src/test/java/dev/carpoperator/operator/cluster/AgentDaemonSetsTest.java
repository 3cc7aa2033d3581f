package dev.carpoperator.operator.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.FirewallClusterSpec;
import dev.carpoperator.operator.OperatorSettings;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentDaemonSetsTest {
  @Test
  void theAgentKeepsItsAddressRecordInAHostDirectoryPerNode() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    fwc.setSpec(new FirewallClusterSpec());
    var pod =
        AgentDaemonSets.desired(fwc, OperatorSettings.fromEnvironment(Map.of()))
            .getSpec()
            .getTemplate()
            .getSpec();

    assertThat(pod.getVolumes())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.getHostPath().getPath()).isEqualTo("/run/carp-operator");
              assertThat(v.getHostPath().getType()).isEqualTo("DirectoryOrCreate");
            });
    var agent = pod.getContainers().getFirst();
    assertThat(agent.getVolumeMounts())
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.getName()).isEqualTo(pod.getVolumes().getFirst().getName());
              assertThat(m.getMountPath()).isEqualTo("/run/carp-operator");
              assertThat(m.getReadOnly()).isNotEqualTo(Boolean.TRUE);
            });
    List<String> names = agent.getEnv().stream().map(EnvVar::getName).toList();
    EnvVar dir = agent.getEnv().get(names.indexOf("CARP_RUNTIME_DIR"));
    assertThat(dir.getValue()).isEqualTo("/run/carp-operator/$(NODE_NAME)");
    assertThat(names.indexOf("NODE_NAME"))
        .as("defined before it is referenced")
        .isLessThan(names.indexOf("CARP_RUNTIME_DIR"));
  }

  @Test
  void theHostDirectoryIsASettingAndMustBeAbsolute() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    fwc.setSpec(new FirewallClusterSpec());
    var settings =
        OperatorSettings.fromEnvironment(
            Map.of("CARP_AGENT_RUNTIME_DIRECTORY", "/run/carp-lab/l1"));
    var pod = AgentDaemonSets.desired(fwc, settings).getSpec().getTemplate().getSpec();
    assertThat(pod.getVolumes().getFirst().getHostPath().getPath()).isEqualTo("/run/carp-lab/l1");
    assertThat(pod.getContainers().getFirst().getVolumeMounts().getFirst().getMountPath())
        .as("the same inside")
        .isEqualTo("/run/carp-operator");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> OperatorSettings.fromEnvironment(Map.of("CARP_AGENT_RUNTIME_DIRECTORY", "run/x")))
        .hasMessageContaining("CARP_AGENT_RUNTIME_DIRECTORY must be an absolute path");
  }

  @Test
  void aSlowStartIsGivenMinutesBeforeLivenessCounts() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    fwc.setSpec(new FirewallClusterSpec());
    var agent =
        AgentDaemonSets.desired(fwc, OperatorSettings.fromEnvironment(Map.of()))
            .getSpec()
            .getTemplate()
            .getSpec()
            .getContainers()
            .getFirst();

    var startup = agent.getStartupProbe();
    assertThat(startup.getHttpGet().getPath()).isEqualTo("/-/healthy");
    assertThat(startup.getPeriodSeconds() * startup.getFailureThreshold())
        .isEqualTo(AgentDaemonSets.STARTUP_SECONDS);
    var liveness = agent.getLivenessProbe();
    assertThat(liveness.getPeriodSeconds() * liveness.getFailureThreshold())
        .as("liveness alone would allow only this long")
        .isLessThan(AgentDaemonSets.STARTUP_SECONDS);
  }

  /** Agents without state sync run on C1 only; with it, on the default compilers. */
  @Test
  void agentsWithoutStateSyncRunOnTheFirstJitTierOnly() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    fwc.setSpec(new FirewallClusterSpec());
    var settings = OperatorSettings.fromEnvironment(Map.of());
    assertThat(env(AgentDaemonSets.desired(fwc, settings)))
        .containsEntry("JDK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1");
    var sync = new dev.carpoperator.api.v1alpha1.SyncSpec();
    sync.setInterfaceName("pfsync0");
    fwc.getSpec().setSync(sync);
    assertThat(env(AgentDaemonSets.desired(fwc, settings))).doesNotContainKey("JDK_JAVA_OPTIONS");
  }

  /** SYS_NICE only when the sync threads are to run at real-time priority. */
  @Test
  void realTimeSyncThreadsAddTheNiceCapabilityOnly() {
    FirewallCluster fwc = new FirewallCluster();
    fwc.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    fwc.setSpec(new FirewallClusterSpec());
    var settings = OperatorSettings.fromEnvironment(Map.of());
    var sync = new dev.carpoperator.api.v1alpha1.SyncSpec();
    sync.setInterfaceName("pfsync0");
    fwc.getSpec().setSync(sync);
    assertThat(added(AgentDaemonSets.desired(fwc, settings)))
        .containsExactly("NET_ADMIN", "NET_RAW");
    sync.setRealtimePriority(0);
    assertThat(added(AgentDaemonSets.desired(fwc, settings)))
        .containsExactly("NET_ADMIN", "NET_RAW");
    sync.setRealtimePriority(50);
    assertThat(added(AgentDaemonSets.desired(fwc, settings)))
        .containsExactly("NET_ADMIN", "NET_RAW", "SYS_NICE");
  }

  static java.util.List<String> added(io.fabric8.kubernetes.api.model.apps.DaemonSet ds) {
    return ds.getSpec()
        .getTemplate()
        .getSpec()
        .getContainers()
        .getFirst()
        .getSecurityContext()
        .getCapabilities()
        .getAdd();
  }

  static Map<String, String> env(io.fabric8.kubernetes.api.model.apps.DaemonSet ds) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (EnvVar e : ds.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv())
      out.put(e.getName(), e.getValue());
    return out;
  }
}
