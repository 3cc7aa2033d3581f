package dev.carpoperator.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.carpoperator.agent.health.AddressChecks;
import dev.carpoperator.agent.health.HealthChecks;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import dev.carpoperator.api.v1alpha1.HealthCheck;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One vhid with its addresses, as in VirtualAddress.spec; or, with {@code balancing} and {@code
 * carpNodes}, one address set shared by several vhids (OpenBSD load balancing).
 */
public record VirtualAddressConfig(
    int vhid,
    String interfaceName,
    List<String> addresses,
    int advbase,
    int advskew,
    String password,
    String passwordFile,
    List<String> peers,
    String profile,
    String balancing,
    List<CarpNodeConfig> carpNodes,
    List<HealthCheck> healthChecks) {

  @JsonCreator
  public VirtualAddressConfig(
      @JsonProperty("vhid") Integer vhid,
      @JsonProperty("interface") String interfaceName,
      @JsonProperty("addresses") List<String> addresses,
      @JsonProperty("advbase") Integer advbase,
      @JsonProperty("advskew") Integer advskew,
      @JsonProperty("password") String password,
      @JsonProperty("passwordFile") String passwordFile,
      @JsonProperty("peers") List<String> peers,
      @JsonProperty("profile") String profile,
      @JsonProperty("balancing") String balancing,
      @JsonProperty("carpNodes") List<CarpNodeConfig> carpNodes,
      @JsonProperty("healthChecks") List<HealthCheck> healthChecks) {
    this(
        vhid == null ? -1 : vhid,
        interfaceName,
        addresses == null ? List.of() : List.copyOf(addresses),
        advbase == null ? AgentLimits.ADVBASE_DEFAULT : advbase,
        advskew == null ? AgentLimits.ADVSKEW_DEFAULT : advskew,
        password,
        passwordFile,
        peers == null ? List.of() : List.copyOf(peers),
        profile == null ? "bsd" : profile,
        balancing == null ? "none" : balancing,
        carpNodes == null
            ? List.of()
            : Collections.unmodifiableList(
                new ArrayList<>(carpNodes)), // nulls kept for the validator
        healthChecks == null
            ? List.of()
            : Collections.unmodifiableList(new ArrayList<>(healthChecks)));
  }

  /** The health checks of this address, for {@link HealthChecks} (validated by the loader). */
  public AddressChecks addressChecks() {
    List<Integer> vhids =
        carpNodes.isEmpty() ? List.of(vhid) : carpNodes.stream().map(CarpNodeConfig::vhid).toList();
    return new AddressChecks(
        "vhid " + vhids.getFirst(),
        vhids,
        healthChecks.stream().map(HealthCheckSpecs::of).toList());
  }

  public boolean fastProfile() {
    return "fast".equals(profile);
  }

  /** This node's advskew for one of the carpNodes vhids. */
  public int advskew(CarpNodeConfig node) {
    return node.advskew() == null ? advskew : node.advskew();
  }

  /**
   * What the agent runs for this entry (validated by {@link ConfigLoader}); {@code password} is the
   * passphrase read by {@link ConfigLoader#password}.
   */
  public CarpAddress toCarpAddress(String password) {
    boolean shared = !carpNodes.isEmpty();
    return new CarpAddress(
        interfaceName,
        shared
            ? carpNodes.stream().map(n -> new CarpAddress.Vhid(n.vhid(), advskew(n))).toList()
            : List.of(new CarpAddress.Vhid(vhid, advskew)),
        advbase,
        fastProfile(),
        password,
        addresses,
        shared ? Balancing.parse(balancing).orElseThrow() : Balancing.NONE,
        peers);
  }
}
