package dev.carpoperator.api.v1alpha1;

/**
 * The names users and the operator share for Services of {@code type: LoadBalancer}: the class, the
 * annotations a Service may carry (MetalLB's, under this project's prefix), and the marks the
 * operator puts on the VirtualAddresses it makes for Services. docs/services.md explains each.
 */
public final class LoadBalancing {
  /** {@code spec.loadBalancerClass} the operator serves (the chart can change it). */
  public static final String DEFAULT_CLASS = "carp-operator.dev/carp";

  /** Service annotation: the AddressPool to take the address from. */
  public static final String ANNOTATION_POOL = "carp-operator.dev/address-pool";

  /**
   * Service annotation: the addresses wanted, comma-separated, one per family (MetalLB's
   * loadBalancerIPs); {@code spec.loadBalancerIP} is read too.
   */
  public static final String ANNOTATION_IPS = "carp-operator.dev/load-balancer-ips";

  /**
   * Service annotation: Services with the same value may share an address when their ports do not
   * overlap (MetalLB's allow-shared-ip).
   */
  public static final String ANNOTATION_SHARE_KEY = "carp-operator.dev/allow-shared-ip";

  /** Label on a VirtualAddress the operator made for Services. */
  public static final String LABEL_LOAD_BALANCER = "carp-operator.dev/load-balancer";

  /** Label on such a VirtualAddress: the pool its addresses came from. */
  public static final String LABEL_POOL = "carp-operator.dev/address-pool";

  /** Annotation on such a VirtualAddress: the Services using it, {@code namespace/name,...}. */
  public static final String ANNOTATION_SERVICES = "carp-operator.dev/services";

  /** Finalizer on a served Service: its address is released before the Service goes. */
  public static final String FINALIZER = "carp-operator.dev/load-balancer-cleanup";

  /** Condition type on a served Service's status. */
  public static final String CONDITION_ASSIGNED = "carp-operator.dev/AddressAssigned";

  private LoadBalancing() {}
}
