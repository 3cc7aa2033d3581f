package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How state-sync messages are protected. */
public enum SyncMode {
  /**
   * Our own agents: every message authenticated with the shared key; spoofed or replayed messages
   * are dropped.
   */
  @JsonProperty("authenticated")
  AUTHENTICATED,
  /**
   * Plain pfsync version 6, unauthenticated, to talk to OpenBSD peers. Use a dedicated link or
   * VLAN.
   */
  @JsonProperty("bsd-compatible")
  BSD_COMPATIBLE
}
