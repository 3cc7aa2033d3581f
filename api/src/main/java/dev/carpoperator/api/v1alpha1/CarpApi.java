package dev.carpoperator.api.v1alpha1;

/** Names shared by the operator, the agent and the CRDs. */
public final class CarpApi {
  public static final String GROUP = "carp-operator.dev";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;

  /** Condition types on VirtualAddress and FirewallCluster status. */
  public static final String CONDITION_READY = "Ready";

  public static final String CONDITION_DEGRADED = "Degraded";

  /**
   * {@code status.nodes[].reason} of a vhid an agent refuses to run because one of its addresses is
   * the node's own; the operator's Degraded reason for it too.
   */
  public static final String REASON_ADDRESS_IS_NODE_ADDRESS = "AddressIsNodeAddress";

  private CarpApi() {}
}
