package dev.carpoperator.operator.service;

import dev.carpoperator.api.v1alpha1.AddressPool;
import dev.carpoperator.api.v1alpha1.AddressPoolStatus;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.status.StatusPatches;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/** Writes each AddressPool's usage (assigned and free addresses per family) into its status. */
@ControllerConfiguration(name = "addresspool")
public class AddressPoolReconciler implements Reconciler<AddressPool> {
  private static final String ADDRESSES = "addresspool-addresses";

  @Override
  public List<EventSource<?, AddressPool>> prepareEventSources(
      EventSourceContext<AddressPool> context) {
    // Any address may take one of a pool's (a hand-written one too): every pool looks again.
    var addresses =
        InformerEventSourceConfiguration.from(VirtualAddress.class, AddressPool.class)
            .withName(ADDRESSES)
            .withSecondaryToPrimaryMapper(
                va ->
                    context
                        .getPrimaryCache()
                        .list()
                        .map(ResourceID::fromResource)
                        .collect(Collectors.toSet()))
            .build();
    return List.of(new InformerEventSource<>(addresses, context));
  }

  @Override
  @SuppressWarnings("unchecked")
  public UpdateControl<AddressPool> reconcile(AddressPool pool, Context<AddressPool> context) {
    var source =
        (InformerEventSource<VirtualAddress, AddressPool>)
            context.eventSourceRetriever().getEventSourceFor(VirtualAddress.class, ADDRESSES);
    List<PoolAllocator.Holder> holders = new ArrayList<>();
    Set<String> handWritten = new HashSet<>();
    source
        .list()
        .forEach(
            va -> {
              if (LoadBalancerServiceReconciler.isForServices(va))
                holders.add(LoadBalancerServiceReconciler.holderOf(va));
              else handWritten.addAll(LoadBalancerServiceReconciler.addressesOf(va));
            });
    AddressPoolStatus next =
        PoolUsage.of(
            PoolAllocator.Pool.of(
                pool.getMetadata().getName(),
                pool.getSpec().getCluster(),
                pool.getSpec().getAddresses(),
                !Boolean.FALSE.equals(pool.getSpec().getAutoAssign()),
                Boolean.TRUE.equals(pool.getSpec().getAvoidBuggyIPs())),
            holders,
            handWritten);
    UpdateControl<AddressPool> control =
        Objects.equals(pool.getStatus(), next)
            ? UpdateControl.noUpdate()
            : UpdateControl.patchStatus(StatusPatches.fresh(pool, new AddressPool(), next));
    return control.rescheduleAfter(Duration.ofMinutes(5));
  }
}
