package dev.carpoperator.agent.kube;

import dev.carpoperator.agent.config.CarpAddress;
import dev.carpoperator.agent.config.HealthCheckSpecs;
import dev.carpoperator.agent.engine.VhostSpec;
import dev.carpoperator.agent.health.AddressChecks;
import dev.carpoperator.agent.health.CheckSpec;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import dev.carpoperator.api.v1alpha1.BalancingMode;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.HealthCheck;
import dev.carpoperator.api.v1alpha1.NodeAdvskew;
import dev.carpoperator.api.v1alpha1.NodeDemotion;
import dev.carpoperator.api.v1alpha1.SecretKeyRef;
import dev.carpoperator.api.v1alpha1.TimingProfile;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What this node's agent should run, computed from the API objects it watches: pure, so the rules
 * (selection by node labels, per-node advskew, the operator-allocated vhid, Secrets, interface by
 * subnet) are tested without a cluster. Anything that keeps a vhid from running is listed in {@link
 * #problems()} and that vhid is left out, never run half-configured (for example with a wrong key).
 *
 * @param addressOf which VirtualAddress each vhost belongs to, for status reports
 * @param healthChecks the checks of the VirtualAddresses this node runs that have any
 */
public record KubePlan(
    boolean selected,
    boolean preempt,
    boolean demoteOnLinkDown,
    int maintenance,
    List<VhostSpec> vhosts,
    Map<Vhost, String> addressOf,
    List<String> problems,
    List<AddressChecks> healthChecks) {

  /** One vhost of this node: a vhid on an interface (written "eth0/1"). */
  public record Vhost(String interfaceName, int vhid) {
    static Vhost of(VhostSpec spec) {
      return new Vhost(spec.interfaceName(), spec.vhid());
    }

    @Override
    public String toString() {
      return interfaceName + "/" + vhid;
    }
  }

  /** A Secret's value, if the Secret and key exist. */
  public interface SecretLookup {
    Optional<String> value(SecretKeyRef ref);
  }

  /**
   * The local interface with an address in the same subnet as the given prefix (OpenBSD's choice of
   * carpdev).
   */
  public interface InterfaceFinder {
    Optional<String> forPrefix(String cidr);
  }

  public static KubePlan compute(
      String node,
      Map<String, String> nodeLabels,
      String clusterName,
      FirewallCluster cluster,
      Collection<VirtualAddress> addresses,
      SecretLookup secrets,
      InterfaceFinder interfaces) {
    List<String> problems = new ArrayList<>();
    if (cluster == null) {
      problems.add("FirewallCluster " + clusterName + " does not exist");
      return new KubePlan(false, false, true, 0, List.of(), Map.of(), problems, List.of());
    }
    Map<String, String> selector = cluster.getSpec().getNodeSelector();
    boolean selected =
        selector == null
            || selector.entrySet().stream()
                .allMatch(
                    e ->
                        nodeLabels != null
                            && Objects.equals(nodeLabels.get(e.getKey()), e.getValue()));
    var demotion = cluster.getSpec().getDemotion();
    boolean preempt = Boolean.TRUE.equals(cluster.getSpec().getPreempt());
    boolean demoteOnLinkDown =
        demotion == null || !Boolean.FALSE.equals(demotion.getOnInterfaceDown());
    int maintenance =
        demotion == null
            ? 0
            : demotion.getMaintenance().stream()
                .filter(d -> node.equals(d.getName()))
                .map(NodeDemotion::getCount)
                .findFirst()
                .orElse(0);
    if (!selected) {
      return new KubePlan(
          false, preempt, demoteOnLinkDown, maintenance, List.of(), Map.of(), problems, List.of());
    }

    List<VhostSpec> vhosts = new ArrayList<>();
    Map<Vhost, String> addressOf = new LinkedHashMap<>();
    List<AddressChecks> checks = new ArrayList<>();
    List<VirtualAddress> ours =
        addresses.stream()
            .filter(va -> clusterName.equals(va.getSpec().getCluster()))
            .sorted(Comparator.comparing(va -> va.getMetadata().getName()))
            .toList();
    for (VirtualAddress va : ours) {
      String name = va.getMetadata().getName();
      VirtualAddressSpec spec = va.getSpec();
      if (spec.getAddresses() == null || spec.getAddresses().isEmpty()) continue;
      // Not one of the nodes the address may live on (a Local Service's nodes with endpoints).
      if (spec.getEligibleNodes() != null
          && !spec.getEligibleNodes().isEmpty()
          && !spec.getEligibleNodes().contains(node)) continue;
      Optional<String> ifName =
          Optional.ofNullable(spec.getInterfaceName())
              .or(() -> interfaces.forPrefix(spec.getAddresses().getFirst()));
      if (ifName.isEmpty()) {
        problems.add(
            name
                + ": no interface given and none of this node's interfaces is in the subnet of "
                + spec.getAddresses().getFirst());
        continue;
      }
      String password = "";
      if (spec.getPasswordSecretRef() != null) {
        Optional<String> p = secrets.value(spec.getPasswordSecretRef());
        if (p.isEmpty()) {
          SecretKeyRef r = spec.getPasswordSecretRef();
          problems.add(
              name
                  + ": cannot read key "
                  + (r.getKey() == null ? "password" : r.getKey())
                  + " of Secret "
                  + r.getNamespace()
                  + "/"
                  + r.getName()
                  + " (it must exist, in the agent's namespace, with that key)");
          continue;
        }
        password = p.get().strip();
      }
      int defaultSkew =
          advskewOf(
              node,
              spec.getNodes(),
              spec.getAdvskew() == null ? AgentLimits.ADVSKEW_DEFAULT : spec.getAdvskew());
      boolean shared = !spec.getCarpNodes().isEmpty();
      List<CarpAddress.Vhid> vhids;
      if (shared) {
        vhids =
            spec.getCarpNodes().stream()
                .map(
                    c ->
                        new CarpAddress.Vhid(
                            c.getVhid(), advskewOf(node, c.getNodes(), defaultSkew)))
                .toList();
      } else {
        Integer vhid =
            spec.getVhid() != null
                ? spec.getVhid()
                : va.getStatus() == null ? null : va.getStatus().getVhid();
        if (vhid == null) {
          problems.add(name + ": waiting for the operator to allocate a vhid");
          continue;
        }
        vhids = List.of(new CarpAddress.Vhid(vhid, defaultSkew));
      }
      List<VhostSpec> own =
          new CarpAddress(
                  ifName.get(),
                  vhids,
                  spec.getAdvbase() == null ? AgentLimits.ADVBASE_DEFAULT : spec.getAdvbase(),
                  spec.getProfile() == TimingProfile.FAST,
                  password,
                  spec.getAddresses(),
                  shared ? balancing(spec.getBalancing()) : Balancing.NONE,
                  spec.getPeers())
              .vhostSpecs();
      // The operator reports collisions; the agent runs the first claimant (by name) and leaves the
      // other out.
      Optional<Vhost> clash =
          own.stream().map(Vhost::of).filter(addressOf::containsKey).findFirst();
      if (clash.isPresent()) {
        problems.add(
            name
                + ": vhid "
                + clash.get()
                + " is also used by "
                + addressOf.get(clash.get())
                + "; "
                + name
                + " is not run");
        continue;
      }
      List<CheckSpec> checkSpecs = new ArrayList<>();
      try {
        for (HealthCheck c : spec.getHealthChecks()) checkSpecs.add(HealthCheckSpecs.of(c));
      } catch (IllegalArgumentException e) { // the CRD's schema refuses these; an old CRD may not
        problems.add(name + ": " + e.getMessage() + "; the address runs without health checks");
        checkSpecs.clear();
      }
      if (!checkSpecs.isEmpty())
        checks.add(new AddressChecks(name, own.stream().map(VhostSpec::vhid).toList(), checkSpecs));
      for (VhostSpec v : own) addressOf.put(Vhost.of(v), name);
      vhosts.addAll(own);
    }
    return new KubePlan(
        true, preempt, demoteOnLinkDown, maintenance, vhosts, addressOf, problems, checks);
  }

  private static int advskewOf(String node, List<NodeAdvskew> nodes, int fallback) {
    if (nodes == null) return fallback;
    return nodes.stream()
        .filter(n -> node.equals(n.getName()))
        .map(NodeAdvskew::getAdvskew)
        .findFirst()
        .orElse(fallback);
  }

  /** The mode of a VirtualAddress's {@code spec.balancing}; absent is {@code none}. */
  static Balancing balancing(BalancingMode mode) {
    return mode == null
        ? Balancing.NONE
        : switch (mode) {
          case NONE -> Balancing.NONE;
          case ARP -> Balancing.ARP;
          case IP -> Balancing.IP;
          case IP_STEALTH -> Balancing.IP_STEALTH;
          case IP_UNICAST -> Balancing.IP_UNICAST;
        };
  }
}
