package dev.carpoperator.operator.cluster;

import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.operator.OperatorSettings;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;

/**
 * Keeps each FirewallCluster's agent DaemonSet as {@link AgentDaemonSets#desired} says (server-side
 * apply).
 */
public class AgentDaemonSetDependent
    extends CRUDKubernetesDependentResource<DaemonSet, FirewallCluster> {
  private final OperatorSettings settings;

  public AgentDaemonSetDependent(OperatorSettings settings) {
    super(DaemonSet.class);
    this.settings = settings;
  }

  @Override
  protected DaemonSet desired(FirewallCluster primary, Context<FirewallCluster> context) {
    return AgentDaemonSets.desired(primary, settings);
  }
}
