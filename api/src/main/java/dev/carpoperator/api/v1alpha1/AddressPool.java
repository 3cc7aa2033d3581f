package dev.carpoperator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * Addresses the operator hands out to Services of {@code type: LoadBalancer} (cluster-scoped, like
 * MetalLB's IPAddressPool): each Service gets one per IP family, held by a VirtualAddress that the
 * operator creates on the pool's FirewallCluster.
 */
@Group(CarpApi.GROUP)
@Version(CarpApi.VERSION)
@ShortNames("cpool")
@AdditionalPrinterColumn(
    name = "CLUSTER",
    jsonPath = ".spec.cluster",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "ADDRESSES",
    jsonPath = ".spec.addresses",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "AUTO-ASSIGN",
    jsonPath = ".spec.autoAssign",
    type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(
    name = "ASSIGNED-V4",
    jsonPath = ".status.assignedIPv4",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "FREE-V4",
    jsonPath = ".status.availableIPv4",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "AGE",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class AddressPool extends CustomResource<AddressPoolSpec, AddressPoolStatus> {
  @Override
  protected AddressPoolSpec initSpec() {
    return new AddressPoolSpec();
  }
}
