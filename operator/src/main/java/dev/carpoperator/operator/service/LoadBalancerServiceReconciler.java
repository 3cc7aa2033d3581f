package dev.carpoperator.operator.service;

import dev.carpoperator.api.v1alpha1.AddressPool;
import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.HealthCheck;
import dev.carpoperator.api.v1alpha1.LoadBalancing;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.api.v1alpha1.VirtualAddressSpec;
import dev.carpoperator.operator.OperatorMetrics;
import dev.carpoperator.operator.status.EventRecorder;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.LoadBalancerIngressBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServiceStatus;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves Services of {@code type: LoadBalancer} of the project's class: takes addresses from an
 * AddressPool ({@link PoolAllocator} decides), keeps them on a VirtualAddress of the pool's
 * FirewallCluster, writes {@code status.loadBalancer.ingress} once a master holds them, records
 * Events and a condition on the Service, and releases the address when the Service goes or stops
 * being ours. A finalizer (as Kubernetes' own service controller uses) makes sure of the release.
 */
@ControllerConfiguration(name = "loadbalancer", finalizerName = LoadBalancing.FINALIZER)
public class LoadBalancerServiceReconciler implements Reconciler<Service>, Cleaner<Service> {
  private static final Logger log = LoggerFactory.getLogger(LoadBalancerServiceReconciler.class);

  /** How long an address we just wrote counts as taken even when the cache does not show it. */
  static final Duration IN_FLIGHT = Duration.ofSeconds(30);

  private final ServiceClass serviceClass;
  private final OperatorMetrics metrics;

  private static final String ADDRESSES = "loadbalancer-addresses";
  private static final String POOLS = "loadbalancer-pools";
  private static final String SLICES = "loadbalancer-endpointslices";

  /** One allocation at a time: two Services never get the same address. */
  private final Object allocation = new Object();

  /** VirtualAddresses written (or, null holder, deleted) lately, over the informer's view. */
  private final Map<String, Recent> recent = new HashMap<>();

  private record Recent(PoolAllocator.Holder holder, List<String> eligible, Instant at) {}

  public LoadBalancerServiceReconciler(ServiceClass serviceClass, OperatorMetrics metrics) {
    this.serviceClass = serviceClass;
    this.metrics = metrics;
  }

  /** Which Services this operator serves: the class, and whether it also takes those without. */
  public record ServiceClass(String name, boolean isDefault) {
    public boolean serves(Service s) {
      if (s.getSpec() == null || !"LoadBalancer".equals(s.getSpec().getType())) return false;
      String c = s.getSpec().getLoadBalancerClass();
      return c == null ? isDefault : c.equals(name);
    }
  }

  /**
   * Only our Services reach the reconciler (others never get the finalizer), and those that still
   * carry it after they stopped being ours, so that their address is released.
   */
  public boolean interesting(Service s) {
    return serviceClass.serves(s)
        || (s.getMetadata().getFinalizers() != null
            && s.getMetadata().getFinalizers().contains(LoadBalancing.FINALIZER));
  }

  @Override
  public List<EventSource<?, Service>> prepareEventSources(EventSourceContext<Service> context) {
    // A VirtualAddress made for Services wakes its users (its master is known: write the ingress).
    var addresses =
        InformerEventSourceConfiguration.from(VirtualAddress.class, Service.class)
            .withName(ADDRESSES)
            .withSecondaryToPrimaryMapper(LoadBalancerServiceReconciler::users)
            .build();
    // A pool that appears or grows wakes the Services still waiting for an address; any pool
    // change wakes the served ones too, so that health checks edited on a pool reach its addresses
    // (pools change rarely: one pass over the Services is cheap).
    var pools =
        InformerEventSourceConfiguration.from(AddressPool.class, Service.class)
            .withName(POOLS)
            .withSecondaryToPrimaryMapper(
                pool ->
                    context
                        .getPrimaryCache()
                        .list(serviceClass::serves)
                        .map(ResourceID::fromResource)
                        .collect(Collectors.toSet()))
            .build();
    // A Local Service's endpoints decide which nodes may hold its address.
    var slices =
        InformerEventSourceConfiguration.from(EndpointSlice.class, Service.class)
            .withName(SLICES)
            .withSecondaryToPrimaryMapper(
                slice -> {
                  var labels = slice.getMetadata().getLabels();
                  String svc = labels == null ? null : labels.get(SERVICE_NAME_LABEL);
                  return svc == null
                      ? Set.of()
                      : Set.of(new ResourceID(svc, slice.getMetadata().getNamespace()));
                })
            .build();
    return List.of(
        new InformerEventSource<>(addresses, context),
        new InformerEventSource<>(pools, context),
        new InformerEventSource<>(slices, context));
  }

  /** The label that ties an EndpointSlice to its Service. */
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  /**
   * The nodes that may hold an address used by {@code users}: with {@code externalTrafficPolicy:
   * Local} kube-proxy serves the address only on nodes with a ready endpoint, so only those; when a
   * user has policy Cluster, or no node has a ready endpoint (nothing could serve anywhere), no
   * restriction (an empty list).
   */
  private List<String> eligibleNodes(Set<String> users, Context<Service> context) {
    Set<String> nodes = new TreeSet<>();
    for (String user : users) {
      int slash = user.indexOf('/');
      Service s =
          context
              .getPrimaryCache()
              .get(new ResourceID(user.substring(slash + 1), user.substring(0, slash)))
              .orElse(null);
      if (s == null || !"Local".equals(s.getSpec().getExternalTrafficPolicy())) return List.of();
      nodes.addAll(readyEndpointNodes(s, context));
    }
    return List.copyOf(nodes);
  }

  @SuppressWarnings("unchecked")
  private static Set<String> readyEndpointNodes(Service s, Context<Service> context) {
    var source =
        (InformerEventSource<EndpointSlice, Service>)
            context.eventSourceRetriever().getEventSourceFor(EndpointSlice.class, SLICES);
    Set<String> nodes = new TreeSet<>();
    source
        .list(
            slice ->
                s.getMetadata().getNamespace().equals(slice.getMetadata().getNamespace())
                    && slice.getMetadata().getLabels() != null
                    && s.getMetadata()
                        .getName()
                        .equals(slice.getMetadata().getLabels().get(SERVICE_NAME_LABEL)))
        .forEach(
            slice -> {
              if (slice.getEndpoints() == null) return;
              for (var e : slice.getEndpoints()) {
                // EndpointConditions: a missing "ready" means ready.
                boolean ready =
                    e.getConditions() == null
                        || !Boolean.FALSE.equals(e.getConditions().getReady());
                if (ready && e.getNodeName() != null) nodes.add(e.getNodeName());
              }
            });
    return nodes;
  }

  static Set<ResourceID> users(VirtualAddress va) {
    Set<ResourceID> out = new HashSet<>();
    for (String u : usersOf(va)) {
      int slash = u.indexOf('/');
      if (slash > 0) out.add(new ResourceID(u.substring(slash + 1), u.substring(0, slash)));
    }
    return out;
  }

  static Set<String> usersOf(VirtualAddress va) {
    var a = va.getMetadata().getAnnotations();
    String list = a == null ? null : a.get(LoadBalancing.ANNOTATION_SERVICES);
    if (list == null || list.isBlank()) return Set.of();
    return Arrays.stream(list.split(","))
        .map(String::strip)
        .filter(x -> !x.isEmpty())
        .collect(Collectors.toSet());
  }

  @Override
  public UpdateControl<Service> reconcile(Service svc, Context<Service> context) {
    KubernetesClient client = context.getClient();
    if (!serviceClass.serves(svc)) {
      // Changed type or class: give the address back and let go of the Service.
      release(client, svc, context);
      removeFinalizer(client, svc);
      metrics.event("AddressReleased", false);
      EventRecorder.record(
          client,
          svc,
          false,
          "AddressReleased",
          "no longer a LoadBalancer of " + serviceClass.name());
      return UpdateControl.noUpdate();
    }
    PoolAllocator.Request request;
    try {
      request = request(svc);
    } catch (IllegalArgumentException e) {
      return refuse(svc, context, new PoolAllocator.Refused("InvalidAddress", e.getMessage()));
    }
    PoolAllocator.Outcome outcome;
    synchronized (allocation) {
      outcome =
          PoolAllocator.place(
              request,
              pools(context),
              holders(context),
              portsOfServed(context),
              handWritten(context));
      if (outcome instanceof PoolAllocator.Assigned a) {
        try {
          if (a.release() != null && !a.release().name().equals(a.holder().name()))
            leave(client, a.release(), request.service(), context);
          List<String> eligible = eligibleNodes(a.holder().users(), context);
          if (a.created()
              || !a.holder().equals(holderNamed(context, a.holder().name()))
              || !eligible.equals(eligibleNow(context, a.holder().name()))
              || healthChecksDiffer(context, a.holder()))
            write(client, a.holder(), eligible, context);
        } catch (KubernetesClientException e) {
          return refuse(
              svc,
              context,
              new PoolAllocator.Refused(
                  "AddressNotWritten", "cannot write VirtualAddress: " + e.getMessage()));
        }
        if (a.created()) {
          metrics.event("AddressAssigned", false);
          EventRecorder.record(
              client,
              svc,
              false,
              "AddressAssigned",
              String.join(", ", a.holder().ips())
                  + " from AddressPool "
                  + a.holder().pool()
                  + " (VirtualAddress "
                  + a.holder().name()
                  + ")");
        }
      }
    }
    if (outcome instanceof PoolAllocator.Refused r) return refuse(svc, context, r);
    PoolAllocator.Holder holder = ((PoolAllocator.Assigned) outcome).holder();
    VirtualAddress va =
        allAddresses(context).stream()
            .filter(v -> v.getMetadata().getName().equals(holder.name()))
            .findFirst()
            .orElse(null);
    String master = va == null || va.getStatus() == null ? null : va.getStatus().getMaster();
    boolean ready = va != null && va.getStatus() != null && ready(va);
    ServiceStatus next = new ServiceStatus();
    Condition c;
    if (master != null && ready) {
      next.setLoadBalancer(
          new io.fabric8.kubernetes.api.model.LoadBalancerStatus(
              holder.ips().stream().map(LoadBalancerServiceReconciler::ingressOf).toList()));
      c =
          condition(
              "True",
              "Assigned",
              String.join(", ", holder.ips())
                  + " held by "
                  + master
                  + " (VirtualAddress "
                  + holder.name()
                  + ")");
    } else {
      // Keep an ingress already published: a master that is gone for a moment does not unpublish.
      if (!ingress(svc).isEmpty()) next.setLoadBalancer(svc.getStatus().getLoadBalancer());
      c =
          condition(
              "False",
              "NoMaster",
              String.join(", ", holder.ips())
                  + " assigned (VirtualAddress "
                  + holder.name()
                  + "); no node holds it yet");
    }
    next.setConditions(List.of(c));
    return statusUpdate(svc, next, Duration.ofSeconds(master != null && ready ? 120 : 10));
  }

  @Override
  public DeleteControl cleanup(Service svc, Context<Service> context) {
    release(context.getClient(), svc, context);
    return DeleteControl.defaultDelete();
  }

  private UpdateControl<Service> refuse(
      Service svc, Context<Service> context, PoolAllocator.Refused r) {
    Condition c = condition("False", r.reason(), r.message());
    Condition before = assigned(svc);
    if (before == null
        || !Objects.equals(before.getReason(), r.reason())
        || !Objects.equals(before.getMessage(), r.message())) {
      metrics.event(r.reason(), true);
      EventRecorder.record(context.getClient(), svc, true, r.reason(), r.message());
    }
    ServiceStatus next = new ServiceStatus();
    next.setConditions(List.of(c));
    // A refused Service is looked at again (a pool may grow; a Service may go) without flooding.
    return statusUpdate(svc, next, Duration.ofSeconds(30));
  }

  private UpdateControl<Service> statusUpdate(Service svc, ServiceStatus next, Duration again) {
    Condition before = assigned(svc);
    Condition now = next.getConditions().getFirst();
    boolean sameCondition =
        before != null
            && Objects.equals(before.getStatus(), now.getStatus())
            && Objects.equals(before.getReason(), now.getReason())
            && Objects.equals(before.getMessage(), now.getMessage());
    List<LoadBalancerIngress> was = ingress(svc);
    List<LoadBalancerIngress> will =
        next.getLoadBalancer() == null || next.getLoadBalancer().getIngress() == null
            ? List.of()
            : next.getLoadBalancer().getIngress();
    if (sameCondition && was.equals(will))
      return UpdateControl.<Service>noUpdate().rescheduleAfter(again);
    if (sameCondition) now.setLastTransitionTime(before.getLastTransitionTime());
    Service fresh = new Service();
    fresh.setMetadata(
        new ObjectMetaBuilder()
            .withName(svc.getMetadata().getName())
            .withNamespace(svc.getMetadata().getNamespace())
            .build());
    if (next.getLoadBalancer() == null)
      next.setLoadBalancer(new io.fabric8.kubernetes.api.model.LoadBalancerStatus());
    fresh.setStatus(next);
    return UpdateControl.patchStatus(fresh).rescheduleAfter(again);
  }

  private static Condition condition(String status, String reason, String message) {
    return new ConditionBuilder()
        .withType(LoadBalancing.CONDITION_ASSIGNED)
        .withStatus(status)
        .withReason(reason)
        .withMessage(message)
        .withLastTransitionTime(
            Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString())
        .build();
  }

  private static Condition assigned(Service svc) {
    if (svc.getStatus() == null || svc.getStatus().getConditions() == null) return null;
    return svc.getStatus().getConditions().stream()
        .filter(c -> LoadBalancing.CONDITION_ASSIGNED.equals(c.getType()))
        .findFirst()
        .orElse(null);
  }

  static List<LoadBalancerIngress> ingress(Service s) {
    if (s.getStatus() == null
        || s.getStatus().getLoadBalancer() == null
        || s.getStatus().getLoadBalancer().getIngress() == null) return List.of();
    return s.getStatus().getLoadBalancer().getIngress();
  }

  private static LoadBalancerIngress ingressOf(String ip) {
    // ipMode VIP: kube-proxy also routes in-cluster traffic to the address straight to the
    // endpoints.
    return new LoadBalancerIngressBuilder().withIp(ip).withIpMode("VIP").build();
  }

  private static boolean ready(VirtualAddress va) {
    return va.getStatus().getConditions() != null
        && va.getStatus().getConditions().stream()
            .anyMatch(
                c -> CarpApi.CONDITION_READY.equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** The Service's request, read from its spec and annotations. */
  static PoolAllocator.Request request(Service svc) {
    var spec = svc.getSpec();
    Map<String, String> ann =
        svc.getMetadata().getAnnotations() == null ? Map.of() : svc.getMetadata().getAnnotations();
    List<String> families =
        spec.getIpFamilies() == null || spec.getIpFamilies().isEmpty()
            ? List.of(PoolAllocator.IPV4)
            : List.copyOf(spec.getIpFamilies());
    boolean all = "RequireDualStack".equals(spec.getIpFamilyPolicy());
    List<String> wanted = new ArrayList<>();
    String listed = ann.get(LoadBalancing.ANNOTATION_IPS);
    if (listed != null && !listed.isBlank()) {
      for (String ip : listed.split(",")) if (!ip.isBlank()) wanted.add(IpText.of(ip));
    } else if (spec.getLoadBalancerIP() != null && !spec.getLoadBalancerIP().isBlank()) {
      wanted.add(IpText.of(spec.getLoadBalancerIP()));
    }
    Set<String> ports = ports(svc);
    String pool = blankToNull(ann.get(LoadBalancing.ANNOTATION_POOL));
    String key = blankToNull(ann.get(LoadBalancing.ANNOTATION_SHARE_KEY));
    return new PoolAllocator.Request(
        key(svc),
        families,
        all,
        List.copyOf(new java.util.LinkedHashSet<>(wanted)),
        pool,
        key,
        ports);
  }

  /** {@code TCP/80}-style entries: what two Services sharing an address must not both use. */
  static Set<String> ports(Service svc) {
    Set<String> ports = new TreeSet<>();
    if (svc.getSpec().getPorts() != null)
      for (ServicePort p : svc.getSpec().getPorts())
        ports.add((p.getProtocol() == null ? "TCP" : p.getProtocol()) + "/" + p.getPort());
    return ports;
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }

  static String key(Service s) {
    return s.getMetadata().getNamespace() + "/" + s.getMetadata().getName();
  }

  private static List<PoolAllocator.Pool> pools(Context<Service> context) {
    return allPools(context).stream()
        .map(
            p ->
                PoolAllocator.Pool.of(
                    p.getMetadata().getName(),
                    p.getSpec().getCluster(),
                    p.getSpec().getAddresses(),
                    !Boolean.FALSE.equals(p.getSpec().getAutoAssign()),
                    Boolean.TRUE.equals(p.getSpec().getAvoidBuggyIPs())))
        .toList();
  }

  /** The Service VirtualAddresses: the informer's, with what this replica wrote lately over it. */
  private List<PoolAllocator.Holder> holders(Context<Service> context) {
    Map<String, PoolAllocator.Holder> byName = new LinkedHashMap<>();
    for (VirtualAddress va : allAddresses(context))
      if (isForServices(va)) byName.put(va.getMetadata().getName(), holderOf(va));
    Instant now = Instant.now();
    recent.values().removeIf(r -> r.at().plus(IN_FLIGHT).isBefore(now));
    recent.forEach(
        (name, r) -> {
          if (r.holder() == null) byName.remove(name);
          else byName.put(name, r.holder());
        });
    return List.copyOf(byName.values());
  }

  private PoolAllocator.Holder holderNamed(Context<Service> context, String name) {
    return holders(context).stream().filter(h -> h.name().equals(name)).findFirst().orElse(null);
  }

  /**
   * Every VirtualAddress in the informer's cache: the Context's secondary resources would be only
   * those mapped to this Service, and the allocator must see all addresses.
   */
  @SuppressWarnings("unchecked")
  private static List<VirtualAddress> allAddresses(Context<Service> context) {
    var source =
        (InformerEventSource<VirtualAddress, Service>)
            context.eventSourceRetriever().getEventSourceFor(VirtualAddress.class, ADDRESSES);
    return source.list().toList();
  }

  @SuppressWarnings("unchecked")
  private static List<AddressPool> allPools(Context<Service> context) {
    var source =
        (InformerEventSource<AddressPool, Service>)
            context.eventSourceRetriever().getEventSourceFor(AddressPool.class, POOLS);
    return source.list().toList();
  }

  static boolean isForServices(VirtualAddress va) {
    var l = va.getMetadata().getLabels();
    return l != null && "true".equals(l.get(LoadBalancing.LABEL_LOAD_BALANCER));
  }

  static PoolAllocator.Holder holderOf(VirtualAddress va) {
    var labels = va.getMetadata().getLabels();
    var ann =
        va.getMetadata().getAnnotations() == null
            ? Map.<String, String>of()
            : va.getMetadata().getAnnotations();
    List<String> ips = addressesOf(va);
    return new PoolAllocator.Holder(
        va.getMetadata().getName(),
        labels.get(LoadBalancing.LABEL_POOL),
        List.copyOf(ips),
        ann.get(LoadBalancing.ANNOTATION_SHARE_KEY),
        usersOf(va));
  }

  private static Set<String> handWritten(Context<Service> context) {
    Set<String> out = new HashSet<>();
    for (VirtualAddress va : allAddresses(context))
      if (!isForServices(va)) out.addAll(addressesOf(va));
    return out;
  }

  /** A VirtualAddress's addresses without prefix length, canonical. */
  static List<String> addressesOf(VirtualAddress va) {
    List<String> out = new ArrayList<>();
    for (String a : va.getSpec().getAddresses()) {
      try {
        out.add(IpText.of(a.contains("/") ? a.substring(0, a.indexOf('/')) : a));
      } catch (IllegalArgumentException e) {
        // not an address: the API server's validation makes this impossible
      }
    }
    return out;
  }

  private Map<String, Set<String>> portsOfServed(Context<Service> context) {
    Map<String, Set<String>> out = new HashMap<>();
    context.getPrimaryCache().list(serviceClass::serves).forEach(s -> out.put(key(s), ports(s)));
    return out;
  }

  /**
   * The eligible nodes the VirtualAddress has now (as this replica last wrote or the cache shows).
   */
  private List<String> eligibleNow(Context<Service> context, String name) {
    Recent r = recent.get(name);
    if (r != null && r.holder() != null) return r.eligible();
    return allAddresses(context).stream()
        .filter(v -> v.getMetadata().getName().equals(name))
        .findFirst()
        .map(
            v ->
                v.getSpec().getEligibleNodes() == null
                    ? List.<String>of()
                    : List.copyOf(v.getSpec().getEligibleNodes()))
        .orElse(List.of());
  }

  /**
   * Whether the VirtualAddress of {@code h} lacks the health checks its pool has now (the pool was
   * edited after the address was made).
   */
  private boolean healthChecksDiffer(Context<Service> context, PoolAllocator.Holder h) {
    List<HealthCheck> wanted =
        allPools(context).stream()
            .filter(p -> p.getMetadata().getName().equals(h.pool()))
            .findFirst()
            .map(p -> p.getSpec().getHealthChecks())
            .orElse(List.of());
    return allAddresses(context).stream()
        .filter(v -> v.getMetadata().getName().equals(h.name()))
        .findFirst()
        .map(v -> !v.getSpec().getHealthChecks().equals(wanted))
        .orElse(false);
  }

  /** Creates or updates the VirtualAddress of {@code h}, with the spec its pool gives. */
  private void write(
      KubernetesClient client,
      PoolAllocator.Holder h,
      List<String> eligible,
      Context<Service> context) {
    AddressPool pool =
        allPools(context).stream()
            .filter(p -> p.getMetadata().getName().equals(h.pool()))
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("pool " + h.pool() + " vanished"));
    VirtualAddress va = new VirtualAddress();
    Map<String, String> ann = new HashMap<>();
    ann.put(LoadBalancing.ANNOTATION_SERVICES, String.join(",", new TreeSet<>(h.users())));
    if (h.shareKey() != null) ann.put(LoadBalancing.ANNOTATION_SHARE_KEY, h.shareKey());
    va.setMetadata(
        new ObjectMetaBuilder()
            .withName(h.name())
            .withLabels(
                Map.of(
                    LoadBalancing.LABEL_LOAD_BALANCER, "true", LoadBalancing.LABEL_POOL, h.pool()))
            .withAnnotations(ann)
            .build());
    VirtualAddressSpec spec = new VirtualAddressSpec();
    spec.setCluster(pool.getSpec().getCluster());
    // A host route (/32, /128): each agent puts it on the interface whose subnet contains it.
    spec.setAddresses(
        h.ips().stream().map(ip -> ip + (IpText.isIpv6(ip) ? "/128" : "/32")).toList());
    spec.setInterfaceName(pool.getSpec().getInterfaceName());
    spec.setPasswordSecretRef(pool.getSpec().getPasswordSecretRef());
    if (pool.getSpec().getAdvbase() != null) spec.setAdvbase(pool.getSpec().getAdvbase());
    spec.setNodes(pool.getSpec().getNodes());
    spec.setEligibleNodes(eligible);
    spec.setHealthChecks(pool.getSpec().getHealthChecks());
    va.setSpec(spec);
    client
        .resource(va)
        .fieldManager("carp-operator-loadbalancer")
        .forceConflicts()
        .serverSideApply();
    recent.put(h.name(), new Recent(h, eligible, Instant.now()));
    log.info(
        "VirtualAddress {} {} for {}{}",
        h.name(),
        h.ips(),
        h.users(),
        eligible.isEmpty() ? "" : " on " + eligible);
  }

  /** {@code service} stops using {@code h}: the address goes with its last user. */
  private void leave(
      KubernetesClient client, PoolAllocator.Holder h, String service, Context<Service> context) {
    Set<String> rest = new HashSet<>(h.users());
    rest.remove(service);
    if (rest.isEmpty()) {
      client.resources(VirtualAddress.class).withName(h.name()).delete();
      recent.put(h.name(), new Recent(null, List.of(), Instant.now()));
      log.info("VirtualAddress {} {} released", h.name(), h.ips());
    } else {
      write(
          client,
          new PoolAllocator.Holder(h.name(), h.pool(), h.ips(), h.shareKey(), Set.copyOf(rest)),
          eligibleNodes(rest, context),
          context);
    }
  }

  private void release(KubernetesClient client, Service svc, Context<Service> context) {
    synchronized (allocation) {
      String me = key(svc);
      for (PoolAllocator.Holder h : holders(context))
        if (h.users().contains(me)) leave(client, h, me, context);
    }
  }

  private static void removeFinalizer(KubernetesClient client, Service svc) {
    try {
      client
          .services()
          .inNamespace(svc.getMetadata().getNamespace())
          .withName(svc.getMetadata().getName())
          .edit(
              s -> {
                if (s.getMetadata().getFinalizers() != null)
                  s.getMetadata().getFinalizers().remove(LoadBalancing.FINALIZER);
                return s;
              });
    } catch (KubernetesClientException e) {
      log.warn("cannot remove the finalizer of {}: {}", key(svc), e.getMessage());
    }
  }
}
