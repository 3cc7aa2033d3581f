package dev.carpoperator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A highly available address set kept by the nodes of a FirewallCluster (cluster-scoped). */
@Group(CarpApi.GROUP)
@Version(CarpApi.VERSION)
@ShortNames("va")
@AdditionalPrinterColumn(
    name = "VHID",
    jsonPath = ".status.vhid",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "ADDRESSES",
    jsonPath = ".spec.addresses",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "MASTER",
    jsonPath = ".status.master",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "READY",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "AGE",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class VirtualAddress extends CustomResource<VirtualAddressSpec, VirtualAddressStatus> {
  @Override
  protected VirtualAddressSpec initSpec() {
    return new VirtualAddressSpec();
  }
}
