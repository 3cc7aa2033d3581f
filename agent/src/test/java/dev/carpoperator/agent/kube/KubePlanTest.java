package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.engine.VhostSpec;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.NodeAdvskew;
import dev.carpoperator.api.v1alpha1.NodeDemotion;
import dev.carpoperator.api.v1alpha1.SecretKeyRef;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KubePlanTest {
  static final KubePlan.SecretLookup SECRETS =
      ref -> "carp-pass".equals(ref.getName()) ? Optional.of("secret\n") : Optional.empty();
  static final KubePlan.InterfaceFinder BY_SUBNET =
      cidr -> cidr.startsWith("192.0.2.") ? Optional.of("eth0") : Optional.empty();

  static FirewallCluster cluster() {
    FirewallCluster c = new FirewallCluster();
    c.setMetadata(new ObjectMetaBuilder().withName("fw").build());
    c.getSpec().setNodeSelector(Map.of("role", "firewall"));
    c.getSpec().setPreempt(true);
    c.getSpec().getDemotion().setMaintenance(List.of(new NodeDemotion("mickey", 50)));
    return c;
  }

  static VirtualAddress va(String name, Integer vhid, String address) {
    VirtualAddress va = new VirtualAddress();
    va.setMetadata(new ObjectMetaBuilder().withName(name).build());
    va.getSpec().setCluster("fw");
    va.getSpec().setVhid(vhid);
    va.getSpec().setAddresses(List.of(address));
    va.getSpec().setNodes(List.of(new NodeAdvskew("mickey", 0), new NodeAdvskew("minnie", 100)));
    va.getSpec().setPasswordSecretRef(new SecretKeyRef("carp-pass", "carp-system", "password"));
    return va;
  }

  static KubePlan plan(String node, Map<String, String> labels, VirtualAddress... vas) {
    return KubePlan.compute(node, labels, "fw", cluster(), List.of(vas), SECRETS, BY_SUBNET);
  }

  @Test
  void aSelectedNodeRunsItsAddressesWithItsOwnAdvskewAndTheSecret() {
    KubePlan p = plan("minnie", Map.of("role", "firewall"), va("lan", 1, "192.0.2.1/24"));
    assertThat(p.selected()).isTrue();
    assertThat(p.preempt()).isTrue();
    assertThat(p.maintenance()).as("mickey's maintenance demotion is not minnie's").isZero();
    assertThat(p.vhosts())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.interfaceName()).as("chosen by subnet").isEqualTo("eth0");
              assertThat(v.vhid()).isEqualTo(1);
              assertThat(v.advskew()).isEqualTo(100);
              assertThat(v.passphrase()).isEqualTo("secret");
            });
    assertThat(p.addressOf()).containsEntry(new KubePlan.Vhost("eth0", 1), "lan");
    assertThat(plan("mickey", Map.of("role", "firewall")).maintenance()).isEqualTo(50);
  }

  @Test
  void aNodeTheSelectorDoesNotPickRunsNothing() {
    KubePlan p = plan("other", Map.of("role", "web"), va("lan", 1, "192.0.2.1/24"));
    assertThat(p.selected()).isFalse();
    assertThat(p.vhosts()).isEmpty();
  }

  @Test
  void onlyEligibleNodesRunAnAddressThatNamesThem() {
    VirtualAddress local = va("svc", 7, "192.0.2.200/32");
    local.getSpec().setEligibleNodes(List.of("minnie"));
    VirtualAddress lan = va("lan", 1, "192.0.2.1/24");
    Map<String, String> fw = Map.of("role", "firewall");
    assertThat(plan("mickey", fw, lan, local).vhosts())
        .extracting(VhostSpec::vhid)
        .containsExactly(1);
    assertThat(plan("minnie", fw, lan, local).vhosts())
        .extracting(VhostSpec::vhid)
        .containsExactly(1, 7);
    local.getSpec().setEligibleNodes(List.of());
    assertThat(plan("mickey", fw, lan, local).vhosts())
        .as("an empty list restricts nothing")
        .extracting(VhostSpec::vhid)
        .containsExactly(1, 7);
  }

  @Test
  void healthChecksComeWithTheVhidsTheyDemote() {
    VirtualAddress svc = va("svc", 7, "192.0.2.200/32");
    svc.getSpec()
        .setHealthChecks(
            List.of(
                dev.carpoperator.api.v1alpha1.HealthCheck.http(
                    "kube-proxy",
                    new dev.carpoperator.api.v1alpha1.HttpCheck(
                        dev.carpoperator.api.v1alpha1.HttpCheck.Scheme.HTTP,
                        "127.0.0.1",
                        10256,
                        "/healthz"))));
    VirtualAddress lan = va("lan", 1, "192.0.2.1/24");
    KubePlan p = plan("mickey", Map.of("role", "firewall"), lan, svc);
    assertThat(p.healthChecks())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.key()).isEqualTo("svc");
              assertThat(a.vhids()).containsExactly(7);
              assertThat(a.checks().getFirst().target().toString())
                  .isEqualTo("http://127.0.0.1:10256/healthz");
            });
    svc.getSpec().setEligibleNodes(List.of("minnie"));
    assertThat(plan("mickey", Map.of("role", "firewall"), lan, svc).healthChecks())
        .as("a node that does not run the address does not check it")
        .isEmpty();
  }

  @Test
  void theVhidComesFromTheOperatorWhenTheSpecHasNone() {
    VirtualAddress allocated = va("lan", null, "192.0.2.1/24");
    allocated.setStatus(new VirtualAddressStatus());
    allocated.getStatus().setVhid(7);
    VirtualAddress waiting = va("dmz", null, "192.0.2.2/24");
    KubePlan p = plan("mickey", Map.of("role", "firewall"), allocated, waiting);
    assertThat(p.vhosts()).extracting(VhostSpec::vhid).containsExactly(7);
    assertThat(p.problems()).containsExactly("dmz: waiting for the operator to allocate a vhid");
  }

  @Test
  void anAddressThatCannotRunCorrectlyIsLeftOutWithAReason() {
    VirtualAddress noSecret = va("a-no-secret", 1, "192.0.2.1/24");
    noSecret.getSpec().setPasswordSecretRef(new SecretKeyRef("missing", "carp-system", "password"));
    VirtualAddress noInterface = va("b-no-interface", 2, "203.0.113.1/24");
    VirtualAddress first = va("c-first", 3, "192.0.2.3/24");
    VirtualAddress clash = va("d-clash", 3, "192.0.2.4/24");
    KubePlan p = plan("mickey", Map.of("role", "firewall"), noSecret, noInterface, first, clash);
    assertThat(p.vhosts()).extracting(VhostSpec::vhid).containsExactly(3);
    assertThat(p.addressOf()).containsEntry(new KubePlan.Vhost("eth0", 3), "c-first");
    assertThat(p.problems())
        .containsExactly(
            "a-no-secret: cannot read key password of Secret carp-system/missing (it must exist, in the agent's namespace, with that key)",
            "b-no-interface: no interface given and none of this node's interfaces is in the subnet of 203.0.113.1/24",
            "d-clash: vhid eth0/3 is also used by c-first; d-clash is not run");
  }

  @Test
  void aMissingClusterIsAProblemNotACrash() {
    KubePlan p = KubePlan.compute("mickey", Map.of(), "fw", null, List.of(), SECRETS, BY_SUBNET);
    assertThat(p.selected()).isFalse();
    assertThat(p.problems()).containsExactly("FirewallCluster fw does not exist");
  }
}
