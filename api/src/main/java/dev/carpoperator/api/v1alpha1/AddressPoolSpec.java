package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/**
 * The addresses of a pool, in MetalLB's notation (a CIDR or a first-last range), and what the
 * VirtualAddresses made from it get: the FirewallCluster, the interface, the CARP password.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public class AddressPoolSpec {
  @Required
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
  @JsonPropertyDescription(
      "Name of the FirewallCluster whose nodes hold the pool's addresses (the nodes that run kube-proxy for the Services).")
  private String cluster;

  @Required
  @Size(min = 1, max = 64)
  @ItemMaxLength(91)
  @ValidationRule(
      value =
          "self.all(a, isCIDR(a) || (a.split('-').size() == 2 && isIP(a.split('-')[0]) && isIP(a.split('-')[1])"
              + " && ip(a.split('-')[0]).family() == ip(a.split('-')[1]).family()))",
      message =
          "every entry must be a CIDR (192.0.2.240/28, 2001:db8::/120) or a range of one family (192.0.2.240-192.0.2.250)")
  @JsonPropertyDescription(
      "The addresses to hand out: CIDRs (every address in them) or first-last ranges, IPv4 and IPv6.")
  private List<String> addresses = new ArrayList<>();

  @Default("true")
  @JsonPropertyDescription(
      "Whether Services that name no pool get addresses from this one (MetalLB's autoAssign). Pools are tried by name.")
  private Boolean autoAssign = Boolean.TRUE;

  @Default("false")
  @JsonPropertyDescription(
      "Skip IPv4 addresses ending in .0 and .255, which some old clients drop (MetalLB's avoidBuggyIPs).")
  private Boolean avoidBuggyIPs = Boolean.FALSE;

  @Pattern("^[a-zA-Z0-9_.:@-]{1,15}$")
  @JsonPropertyDescription(
      "Interface (carpdev) for the addresses. When omitted each agent picks the interface with an address in the same subnet.")
  @JsonProperty("interface")
  private String interfaceName;

  @JsonPropertyDescription(
      "Secret holding the CARP passphrase of the pool's VirtualAddresses (see VirtualAddress spec.passwordSecretRef).")
  private SecretKeyRef passwordSecretRef;

  @Min(AgentLimits.ADVBASE_BSD_MIN)
  @Max(AgentLimits.ADVBASE_MAX)
  @JsonPropertyDescription(
      "advbase of the pool's VirtualAddresses; when omitted, the VirtualAddress default.")
  private Integer advbase;

  @Size(max = 64)
  @ListMapKeys("name")
  @JsonPropertyDescription(
      "Per-node advskew of the pool's VirtualAddresses (which node is master when all are up).")
  private List<NodeAdvskew> nodes = new ArrayList<>();

  @Size(max = AgentLimits.HEALTH_CHECKS_MAX)
  @ListMapKeys("name")
  @JsonPropertyDescription(
      "Health checks of the pool's VirtualAddresses (see VirtualAddress spec.healthChecks), e.g. kube-proxy's /healthz on port 10256, so that a node whose kube-proxy is down gives the Service addresses up.")
  private List<HealthCheck> healthChecks = new ArrayList<>();

  public String getCluster() {
    return cluster;
  }

  public void setCluster(String cluster) {
    this.cluster = cluster;
  }

  public List<String> getAddresses() {
    return addresses;
  }

  public void setAddresses(List<String> addresses) {
    this.addresses = addresses;
  }

  public Boolean getAutoAssign() {
    return autoAssign;
  }

  public void setAutoAssign(Boolean autoAssign) {
    this.autoAssign = autoAssign;
  }

  public Boolean getAvoidBuggyIPs() {
    return avoidBuggyIPs;
  }

  public void setAvoidBuggyIPs(Boolean avoidBuggyIPs) {
    this.avoidBuggyIPs = avoidBuggyIPs;
  }

  public String getInterfaceName() {
    return interfaceName;
  }

  public void setInterfaceName(String interfaceName) {
    this.interfaceName = interfaceName;
  }

  public SecretKeyRef getPasswordSecretRef() {
    return passwordSecretRef;
  }

  public void setPasswordSecretRef(SecretKeyRef passwordSecretRef) {
    this.passwordSecretRef = passwordSecretRef;
  }

  public Integer getAdvbase() {
    return advbase;
  }

  public void setAdvbase(Integer advbase) {
    this.advbase = advbase;
  }

  public List<NodeAdvskew> getNodes() {
    return nodes;
  }

  public void setNodes(List<NodeAdvskew> nodes) {
    this.nodes = nodes;
  }

  public List<HealthCheck> getHealthChecks() {
    return healthChecks;
  }

  public void setHealthChecks(List<HealthCheck> healthChecks) {
    this.healthChecks = healthChecks;
  }
}
