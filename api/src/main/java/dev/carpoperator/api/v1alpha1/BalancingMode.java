package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** OpenBSD's {@code balancing} modes (carp(4)). */
public enum BalancingMode {
  /** One master holds the address. */
  @JsonProperty("none")
  NONE,
  /**
   * ARP replies are answered by the vhid chosen by a hash of the requester (historical OpenBSD
   * mode).
   */
  @JsonProperty("arp")
  ARP,
  /**
   * Multicast MAC, every node sees every packet and keeps the flows whose address hash maps to a
   * vhid it masters.
   */
  @JsonProperty("ip")
  IP,
  /** Like ip, but never sends from the virtual MAC, so switches keep flooding it. */
  @JsonProperty("ip-stealth")
  IP_STEALTH,
  /** Like ip, with the unicast virtual MAC (hubs, or switches set up to flood). */
  @JsonProperty("ip-unicast")
  IP_UNICAST
}
