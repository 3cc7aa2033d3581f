package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SelectableField;
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
 * One CARP virtual host: the addresses a FirewallCluster keeps highly available, like an OpenBSD
 * {@code carpN} interface. Cross-field rules are CEL so the API server rejects a bad resource
 * before anything acts on it.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@ValidationRule(
    value = "!has(self.vhid) || !has(self.carpNodes)",
    message =
        "set either spec.vhid or spec.carpNodes, not both: with load balancing each carpNodes entry carries its own vhid")
@ValidationRule(
    value =
        "self.balancing == 'none' || (has(self.carpNodes) && size(self.carpNodes) >= "
            + AgentLimits.CARP_NODES_MIN
            + ")",
    message =
        "load balancing needs per-node vhids: list at least two spec.carpNodes entries (OpenBSD carpnodes), one preferring each node")
@ValidationRule(
    value = "!has(self.carpNodes) || self.balancing != 'none'",
    message =
        "spec.carpNodes is only used for load balancing: set spec.balancing to arp, ip, ip-stealth or ip-unicast")
@ValidationRule(
    value =
        "self.profile == 'fast' ? self.advbase == "
            + AgentLimits.ADVBASE_FAST
            + " : self.advbase >= "
            + AgentLimits.ADVBASE_BSD_MIN,
    message =
        "spec.advbase must be 1-255 seconds; advbase 0 is the Linux-only fast profile and needs spec.profile: fast")
@ValidationRule(
    value = "self.profile != 'fast' || self.advskew >= " + AgentLimits.ADVSKEW_FAST_MIN,
    message =
        "with profile: fast the interval is advskew/256 s, so spec.advskew must be at least 1")
public class VirtualAddressSpec {
  @Required
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
  @JsonPropertyDescription("Name of the FirewallCluster whose nodes hold this address.")
  // a field selector: each agent lists and watches only its own cluster's addresses
  @SelectableField
  private String cluster;

  @Min(AgentLimits.VHID_MIN)
  @Max(AgentLimits.VHID_MAX)
  @JsonPropertyDescription(
      "Virtual host id, 1-255, unique per network segment. Allocated by the operator when omitted.")
  private Integer vhid;

  @Required
  @Size(min = 1, max = 32)
  @ItemMaxLength(64)
  @ValidationRule(
      value = "self.all(a, isCIDR(a))",
      message =
          "every address must be an IPv4 or IPv6 address with its prefix length, e.g. 192.0.2.10/24 or 2001:db8::10/64")
  @ValidationRule(
      value = "self.all(a, self.exists_one(b, b == a))",
      message = "an address may be listed only once")
  @JsonPropertyDescription(
      "The virtual addresses with their prefix length, IPv4 and IPv6 (e.g. 192.0.2.10/24).")
  private List<String> addresses = new ArrayList<>();

  @Pattern("^[a-zA-Z0-9_.:@-]{1,15}$")
  @JsonPropertyDescription(
      "Interface (carpdev) that carries the addresses. When omitted the agent picks the interface with an address in the same subnet, as OpenBSD does.")
  @JsonProperty("interface")
  private String interfaceName;

  @Default(AgentLimits.ADVBASE_DEFAULT_TEXT)
  @Min(AgentLimits.ADVBASE_MIN)
  @Max(AgentLimits.ADVBASE_MAX)
  @JsonPropertyDescription(
      "Base advertisement interval in seconds (OpenBSD advbase). 0 only with profile: fast.")
  private Integer advbase = AgentLimits.ADVBASE_DEFAULT;

  @Default(AgentLimits.ADVSKEW_DEFAULT_TEXT)
  @Min(AgentLimits.ADVSKEW_MIN)
  @Max(AgentLimits.ADVSKEW_MAX)
  @JsonPropertyDescription(
      "Default advskew for nodes not listed in spec.nodes: interval = advbase + advskew/256 s; the fastest node is master.")
  private Integer advskew = AgentLimits.ADVSKEW_DEFAULT;

  @Size(max = 64)
  @ListMapKeys("name") // the API server itself rejects a node listed twice
  @JsonPropertyDescription(
      "Per-node advskew, the master/backup preference (e.g. the master 0, the backup 100).")
  private List<NodeAdvskew> nodes = new ArrayList<>();

  @JsonPropertyDescription(
      "Secret holding the CARP passphrase (at most 19 bytes are used, as on OpenBSD). Without one the key is all zeros.")
  private SecretKeyRef passwordSecretRef;

  @Size(max = AgentLimits.PEERS_MAX)
  @ItemMaxLength(45)
  @ValidationRule(
      value = "self.all(p, isIP(p) && ip(p).family() == 4)",
      message =
          "every peer must be a plain IPv4 address without prefix length (unicast adverts are IPv4 only; IPv6 adverts always go to ff02::12, as on OpenBSD)")
  @JsonPropertyDescription(
      "Send IPv4 adverts by unicast to these peers instead of 224.0.0.18 (OpenBSD carppeer). List the address of every node on the link: each agent skips its own addresses, so one list serves all nodes.")
  private List<String> peers = new ArrayList<>();

  @Default("none")
  @JsonPropertyDescription(
      "Load balancing mode (OpenBSD balancing): none, arp, ip, ip-stealth or ip-unicast.")
  private BalancingMode balancing = BalancingMode.NONE;

  @Size(max = AgentLimits.CARP_NODES_MAX)
  @ListMapKeys("vhid") // each vhid once
  @JsonPropertyDescription(
      "Per-node vhids for load balancing (OpenBSD carpnodes vhid:advskew,...).")
  private List<CarpNode> carpNodes = new ArrayList<>();

  @Size(max = 64)
  @ItemMaxLength(253)
  @JsonPropertyDescription(
      "When set, only these nodes run the vhid (may be master); the others leave it. Empty: every node of the cluster. The operator sets it for Services with externalTrafficPolicy: Local (the nodes with a ready endpoint).")
  private List<String> eligibleNodes = new ArrayList<>();

  @Size(max = AgentLimits.HEALTH_CHECKS_MAX)
  @ListMapKeys("name") // each name once
  @JsonPropertyDescription(
      "Checks every node runs for this address (TCP connect, HTTP GET): while one fails, the node's demotion for this address grows by its weight and a healthy node takes the address over.")
  private List<HealthCheck> healthChecks = new ArrayList<>();

  @Default("bsd")
  @JsonPropertyDescription(
      "Timing profile: bsd (wire-compatible) or fast (Linux-only, sub-second intervals of advskew/256 s).")
  private TimingProfile profile = TimingProfile.BSD;

  public String getCluster() {
    return cluster;
  }

  public void setCluster(String cluster) {
    this.cluster = cluster;
  }

  public Integer getVhid() {
    return vhid;
  }

  public void setVhid(Integer vhid) {
    this.vhid = vhid;
  }

  public List<String> getAddresses() {
    return addresses;
  }

  public void setAddresses(List<String> addresses) {
    this.addresses = addresses;
  }

  public String getInterfaceName() {
    return interfaceName;
  }

  public void setInterfaceName(String interfaceName) {
    this.interfaceName = interfaceName;
  }

  public Integer getAdvbase() {
    return advbase;
  }

  public void setAdvbase(Integer advbase) {
    this.advbase = advbase;
  }

  public Integer getAdvskew() {
    return advskew;
  }

  public void setAdvskew(Integer advskew) {
    this.advskew = advskew;
  }

  public List<NodeAdvskew> getNodes() {
    return nodes;
  }

  public void setNodes(List<NodeAdvskew> nodes) {
    this.nodes = nodes;
  }

  public SecretKeyRef getPasswordSecretRef() {
    return passwordSecretRef;
  }

  public void setPasswordSecretRef(SecretKeyRef passwordSecretRef) {
    this.passwordSecretRef = passwordSecretRef;
  }

  public List<String> getPeers() {
    return peers;
  }

  public void setPeers(List<String> peers) {
    this.peers = peers;
  }

  public BalancingMode getBalancing() {
    return balancing;
  }

  public void setBalancing(BalancingMode balancing) {
    this.balancing = balancing;
  }

  public List<CarpNode> getCarpNodes() {
    return carpNodes;
  }

  public void setCarpNodes(List<CarpNode> carpNodes) {
    this.carpNodes = carpNodes;
  }

  public List<String> getEligibleNodes() {
    return eligibleNodes;
  }

  public void setEligibleNodes(List<String> eligibleNodes) {
    this.eligibleNodes = eligibleNodes;
  }

  public List<HealthCheck> getHealthChecks() {
    return healthChecks;
  }

  public void setHealthChecks(List<HealthCheck> healthChecks) {
    this.healthChecks = healthChecks;
  }

  public TimingProfile getProfile() {
    return profile;
  }

  public void setProfile(TimingProfile profile) {
    this.profile = profile;
  }
}
