package dev.carpoperator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A set of nodes acting as one redundant firewall (cluster-scoped); the operator runs an agent on
 * each.
 */
@Group(CarpApi.GROUP)
@Version(CarpApi.VERSION)
@ShortNames("fwc")
@AdditionalPrinterColumn(
    name = "PREEMPT",
    jsonPath = ".spec.preempt",
    type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(
    name = "AGENTS",
    jsonPath = ".status.readyAgents",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "READY",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "AGE",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
// The name becomes label values (at most 63 characters) and the DaemonSet's name carp-agent-<name>.
@ValidationRule(
    value = "self.metadata.name.size() <= 52",
    message =
        "metadata.name: at most 52 characters (it becomes the agent DaemonSet carp-agent-<name> and a label value)")
public class FirewallCluster extends CustomResource<FirewallClusterSpec, FirewallClusterStatus> {
  @Override
  protected FirewallClusterSpec initSpec() {
    return new FirewallClusterSpec();
  }
}
