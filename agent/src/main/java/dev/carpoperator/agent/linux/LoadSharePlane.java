package dev.carpoperator.agent.linux;

import dev.carpoperator.agent.net.MacAddress;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * What load sharing changes in the kernel: the nftables rule set ({@link LoadShareRules}) and the
 * NICs' MAC address filters. {@link LoadShareDataplane} (nft, bridge fdb) is the real one; tests
 * record the calls instead. Called from one thread at a time (the engine's address worker).
 */
public interface LoadSharePlane {
  /** Replaces our tables with the rules for these groups; returns how long that took. */
  Duration apply(List<LoadShareRules.Group> groups) throws IOException;

  /** Removes our tables. */
  void clear() throws IOException;

  /** Adds a MAC to the NIC's address filter (idempotent). */
  void acceptMac(String ifName, MacAddress mac) throws IOException;

  /** Removes a MAC from the NIC's address filter; a missing entry is not an error. */
  void removeMac(String ifName, MacAddress mac);
}
