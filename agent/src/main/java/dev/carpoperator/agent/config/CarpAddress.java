package dev.carpoperator.agent.config;

import dev.carpoperator.agent.engine.LoadShare;
import dev.carpoperator.agent.engine.VhostSpec;
import dev.carpoperator.agent.linux.Balancing;
import java.util.List;

/**
 * One virtual address as the agent runs it, whichever front end described it: the standalone YAML
 * ({@link VirtualAddressConfig}) and the VirtualAddress CRD (the Kubernetes plan) both produce
 * this, with their defaults taken from {@code AgentLimits}, and {@link #vhostSpecs()} is the one
 * place it becomes the engine's vhosts.
 *
 * @param vhids one entry, or with load balancing one per carpNodes vhid, each with this node's
 *     advskew for it
 * @param balancing {@link Balancing#NONE} for a single vhid; otherwise the vhids share the
 *     addresses (OpenBSD carpnodes)
 */
public record CarpAddress(
    String interfaceName,
    List<Vhid> vhids,
    int advbase,
    boolean fastProfile,
    String password,
    List<String> addresses,
    Balancing balancing,
    List<String> peers) {

  /** One vhid with the advskew this node advertises for it. */
  public record Vhid(int vhid, int advskew) {}

  public CarpAddress {
    vhids = List.copyOf(vhids);
    addresses = List.copyOf(addresses);
    peers = peers == null ? List.of() : List.copyOf(peers);
  }

  /** Without the password: these end up in logs and assertion messages. */
  @Override
  public String toString() {
    return "CarpAddress[interfaceName="
        + interfaceName
        + ", vhids="
        + vhids
        + ", advbase="
        + advbase
        + ", fastProfile="
        + fastProfile
        + ", addresses="
        + addresses
        + ", balancing="
        + balancing
        + ", peers="
        + peers
        + "]";
  }

  /** The engine's vhosts: one per vhid, all with the same addresses and key. */
  public List<VhostSpec> vhostSpecs() {
    LoadShare share =
        balancing == Balancing.NONE
            ? null
            : new LoadShare(balancing, vhids.stream().map(Vhid::vhid).toList());
    return vhids.stream()
        .map(
            v ->
                new VhostSpec(
                    interfaceName,
                    v.vhid(),
                    advbase,
                    v.advskew(),
                    fastProfile,
                    password,
                    addresses,
                    share,
                    peers))
        .toList();
  }
}
