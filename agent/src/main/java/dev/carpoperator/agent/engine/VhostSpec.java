package dev.carpoperator.agent.engine;

import java.util.List;

/**
 * One vhid on one interface; {@code share} is set when the vhid is one of a load-shared group's;
 * {@code peers} (IPv4, OpenBSD carppeer) replace the multicast group as destinations of the IPv4
 * adverts.
 */
public record VhostSpec(
    String interfaceName,
    int vhid,
    int advbase,
    int advskew,
    boolean fastProfile,
    String passphrase,
    List<String> prefixes,
    LoadShare share,
    List<String> peers) {
  public VhostSpec(
      String interfaceName,
      int vhid,
      int advbase,
      int advskew,
      boolean fastProfile,
      String passphrase,
      List<String> prefixes) {
    this(interfaceName, vhid, advbase, advskew, fastProfile, passphrase, prefixes, null, List.of());
  }

  public VhostSpec(
      String interfaceName,
      int vhid,
      int advbase,
      int advskew,
      boolean fastProfile,
      String passphrase,
      List<String> prefixes,
      LoadShare share) {
    this(
        interfaceName, vhid, advbase, advskew, fastProfile, passphrase, prefixes, share, List.of());
  }

  /** Without the passphrase: specs end up in logs and exception messages. */
  @Override
  public String toString() {
    return "VhostSpec[interfaceName="
        + interfaceName
        + ", vhid="
        + vhid
        + ", advbase="
        + advbase
        + ", advskew="
        + advskew
        + ", fastProfile="
        + fastProfile
        + ", passphrase="
        + (passphrase == null || passphrase.isEmpty() ? "(none)" : "(set)")
        + ", prefixes="
        + prefixes
        + ", share="
        + share
        + ", peers="
        + peers
        + "]";
  }
}
