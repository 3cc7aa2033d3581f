package dev.carpoperator.agent.linux;

import dev.carpoperator.agent.net.MacAddress;
import java.util.Arrays;
import java.util.Optional;

/**
 * OpenBSD's {@code balancing} modes as the agent implements them on Linux (docs/load-sharing.md).
 * The standalone YAML names them as the CRD's {@code BalancingMode} does.
 */
public enum Balancing {
  /** One master holds the address. */
  NONE("none"),
  /**
   * Every node holds the address; an ARP request is answered by the master of the vhid its
   * requester hashes to.
   */
  ARP("arp"),
  /**
   * Every node holds the address; clients reach all nodes through a multicast MAC, each keeps its
   * hash buckets.
   */
  IP("ip"),
  /**
   * As ip with the unicast MAC 00:00:5e:00:01:leader, never used as a source, so switches keep
   * flooding it.
   */
  IP_STEALTH("ip-stealth"),
  /** As ip-stealth, but adverts come from the virtual MAC: needs a hub or a switch set to flood. */
  IP_UNICAST("ip-unicast");

  private final String configName;

  Balancing(String configName) {
    this.configName = configName;
  }

  public String configName() {
    return configName;
  }

  /** The mode a standalone YAML name ({@code none}, {@code arp}, ...) stands for. */
  public static Optional<Balancing> parse(String name) {
    return Arrays.stream(values()).filter(b -> b.configName.equals(name)).findFirst();
  }

  /**
   * The IP modes share one destination MAC for the whole group and split traffic by address hash.
   */
  public boolean splitsByAddress() {
    return this == IP || this == IP_STEALTH || this == IP_UNICAST;
  }

  /**
   * The MAC clients send to in the IP modes: OpenBSD's 01:00:5e:00:01:leader for ip (switches flood
   * multicast), the unicast virtual MAC of the leader for ip-stealth and ip-unicast.
   */
  public MacAddress groupMac(int leaderVhid) {
    return switch (this) {
      case IP -> new MacAddress(0x0100_5e00_0100L | leaderVhid);
      case IP_STEALTH, IP_UNICAST -> MacAddress.virtual(leaderVhid);
      case NONE, ARP -> throw new IllegalStateException(configName + " has no group MAC");
    };
  }

  @Override
  public String toString() {
    return configName;
  }
}
