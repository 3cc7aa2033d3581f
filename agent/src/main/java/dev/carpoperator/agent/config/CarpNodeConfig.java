package dev.carpoperator.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One vhid of a load-shared address with this node's advskew for it: OpenBSD {@code carpnodes
 * vhid:advskew}. The CRD lists every node's advskew per vhid; a standalone file describes one node,
 * so it carries only its own.
 *
 * @param advskew null: the address's {@code advskew}
 */
public record CarpNodeConfig(int vhid, Integer advskew) {
  @JsonCreator
  public CarpNodeConfig(
      @JsonProperty("vhid") Integer vhid, @JsonProperty("advskew") Integer advskew) {
    this(vhid == null ? -1 : (int) vhid, advskew);
  }
}
