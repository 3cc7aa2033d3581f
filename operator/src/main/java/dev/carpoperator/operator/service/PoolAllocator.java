package dev.carpoperator.operator.service;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Decides which addresses a LoadBalancer Service gets: keeps what it has while that still fits its
 * request, else takes the requested addresses or the first free ones of its pool, shares an address
 * between Services with the same sharing key and no common port, and refuses with a reason a user
 * can act on. Pure: it sees the pools, the VirtualAddresses and the Services' ports as values.
 */
final class PoolAllocator {
  private PoolAllocator() {}

  /** IP families as Kubernetes spells them in {@code spec.ipFamilies}. */
  static final String IPV4 = "IPv4";

  static final String IPV6 = "IPv6";

  /**
   * What a Service asks for.
   *
   * @param service {@code namespace/name}
   * @param families {@code spec.ipFamilies}, in order
   * @param allFamilies true for RequireDualStack: one address of each family or none
   * @param wanted requested addresses (annotation or {@code spec.loadBalancerIP}), canonical
   * @param pool the pool named by annotation, or null for any auto-assigning pool
   * @param shareKey the sharing key, or null
   * @param ports {@code TCP/80}-style entries of the Service's ports
   */
  record Request(
      String service,
      List<String> families,
      boolean allFamilies,
      List<String> wanted,
      String pool,
      String shareKey,
      Set<String> ports) {}

  /** A pool as the allocator sees it; {@code problem} is set when an entry did not parse. */
  record Pool(
      String name,
      String cluster,
      List<AddressRange> ranges,
      boolean autoAssign,
      boolean avoidBuggy,
      String problem) {

    static Pool of(
        String name, String cluster, List<String> entries, boolean autoAssign, boolean avoid) {
      List<AddressRange> ranges = new ArrayList<>();
      String problem = null;
      for (String e : entries) {
        try {
          ranges.add(AddressRange.parse(e));
        } catch (IllegalArgumentException ex) {
          problem = ex.getMessage();
        }
      }
      return new Pool(name, cluster, List.copyOf(ranges), autoAssign, avoid, problem);
    }

    boolean contains(String ip) {
      var a = AddressRange.literal(ip);
      return ranges.stream().anyMatch(r -> r.contains(a));
    }
  }

  /** A VirtualAddress made for Services: its addresses (canonical), sharing key and users. */
  record Holder(String name, String pool, List<String> ips, String shareKey, Set<String> users) {}

  /** The outcome for one Service. */
  sealed interface Outcome {}

  /**
   * The VirtualAddress the Service should use ({@code holder.users} includes it); {@code release}:
   * the one it used before and must leave, or null.
   */
  record Assigned(Holder holder, boolean created, Holder release) implements Outcome {}

  /**
   * No address: {@code reason} is an Event/condition reason (PoolNotFound, AddressNotInPool, ...).
   */
  record Refused(String reason, String message) implements Outcome {}

  /**
   * Places {@code r} given every pool, every Service VirtualAddress, the ports of every served
   * Service ({@code namespace/name} → ports) and the addresses of VirtualAddresses written by hand.
   */
  static Outcome place(
      Request r,
      List<Pool> pools,
      List<Holder> holders,
      Map<String, Set<String>> portsByService,
      Set<String> handWritten) {
    Holder current =
        holders.stream().filter(h -> h.users().contains(r.service())).findFirst().orElse(null);
    if (current != null && fits(r, current, pools, portsByService))
      return new Assigned(current, false, null);
    // What the Service held is free for its new choice, unless others share it.
    List<Holder> others = new ArrayList<>();
    for (Holder h : holders) {
      if (h == current) {
        Set<String> rest = new HashSet<>(h.users());
        rest.remove(r.service());
        if (!rest.isEmpty())
          others.add(new Holder(h.name(), h.pool(), h.ips(), h.shareKey(), rest));
      } else {
        others.add(h);
      }
    }
    Outcome o = placeNew(r, pools, others, portsByService, handWritten);
    if (o instanceof Assigned a) return new Assigned(a.holder(), a.created(), current);
    return o;
  }

  private static boolean fits(
      Request r, Holder h, List<Pool> pools, Map<String, Set<String>> portsByService) {
    Pool pool = pools.stream().filter(p -> p.name().equals(h.pool())).findFirst().orElse(null);
    if (pool == null || pool.problem() != null) return false;
    // A requested address may come from any pool; a chosen one only from an auto-assigning pool.
    if (r.pool() != null ? !r.pool().equals(h.pool()) : r.wanted().isEmpty() && !pool.autoAssign())
      return false;
    if (!Objects.equals(r.shareKey(), h.shareKey())) return false;
    if (!h.ips().stream().allMatch(pool::contains)) return false;
    if (!r.wanted().isEmpty() && !Set.copyOf(r.wanted()).equals(Set.copyOf(h.ips()))) return false;
    Set<String> have = families(h.ips());
    if (!r.families().containsAll(have)) return false;
    if (r.allFamilies() && !have.containsAll(r.families())) return false;
    return !conflicts(r, h, portsByService);
  }

  private static Outcome placeNew(
      Request r,
      List<Pool> pools,
      List<Holder> holders,
      Map<String, Set<String>> portsByService,
      Set<String> handWritten) {
    List<Pool> candidates;
    if (r.pool() != null) {
      Pool named = pools.stream().filter(p -> p.name().equals(r.pool())).findFirst().orElse(null);
      if (named == null)
        return new Refused(
            "PoolNotFound", "AddressPool " + r.pool() + " (annotation) does not exist");
      candidates = List.of(named);
    } else {
      candidates =
          pools.stream()
              .filter(p -> p.autoAssign() || !r.wanted().isEmpty())
              .sorted(Comparator.comparing(Pool::name))
              .toList();
      if (candidates.isEmpty() && r.wanted().isEmpty())
        return new Refused(
            "NoPool",
            "no AddressPool has autoAssign: create one, or name one with the annotation "
                + dev.carpoperator.api.v1alpha1.LoadBalancing.ANNOTATION_POOL);
    }
    for (Pool p : candidates)
      if (p.problem() != null && r.pool() != null)
        return new Refused("InvalidPool", "AddressPool " + p.name() + ": " + p.problem());
    candidates = candidates.stream().filter(p -> p.problem() == null).toList();

    Set<String> used = new HashSet<>(handWritten);
    for (Holder h : holders) used.addAll(h.ips());

    if (!r.wanted().isEmpty())
      return placeWanted(r, candidates, holders, portsByService, handWritten);

    if (r.shareKey() != null) {
      for (Holder h : holders) {
        if (!r.shareKey().equals(h.shareKey())) continue;
        if (candidates.stream().noneMatch(p -> p.name().equals(h.pool()))) continue;
        Set<String> have = families(h.ips());
        if (!r.families().containsAll(have)) continue;
        if (r.allFamilies() && !have.containsAll(r.families())) continue;
        if (conflicts(r, h, portsByService)) continue;
        return new Assigned(withUser(h, r.service()), false, null);
      }
    }
    List<String> exhausted = new ArrayList<>();
    for (Pool p : candidates) {
      List<String> got = new ArrayList<>();
      for (String family : r.families()) {
        boolean v6 = IPV6.equals(family);
        for (AddressRange range : p.ranges()) {
          if (range.ipv6() != v6) continue;
          Optional<String> free = range.firstFree(used, p.avoidBuggy());
          if (free.isPresent()) {
            got.add(free.get());
            break;
          }
        }
      }
      boolean enough = r.allFamilies() ? got.size() == r.families().size() : !got.isEmpty();
      if (enough)
        return new Assigned(
            new Holder(name(r, got), p.name(), got, r.shareKey(), Set.of(r.service())), true, null);
      exhausted.add(p.name());
    }
    return new Refused(
        "PoolExhausted",
        "no free "
            + String.join("/", r.families())
            + " address in AddressPool "
            + (exhausted.isEmpty() ? "(none valid)" : String.join(", ", exhausted)));
  }

  private static Outcome placeWanted(
      Request r,
      List<Pool> candidates,
      List<Holder> holders,
      Map<String, Set<String>> portsByService,
      Set<String> handWritten) {
    for (String ip : r.wanted()) {
      String family = IpText.isIpv6(ip) ? IPV6 : IPV4;
      if (!r.families().contains(family))
        return new Refused(
            "WrongFamily",
            ip + " is " + family + " but the Service's spec.ipFamilies are " + r.families());
    }
    Pool pool =
        candidates.stream()
            .filter(p -> r.wanted().stream().allMatch(p::contains))
            .findFirst()
            .orElse(null);
    if (pool == null)
      return new Refused(
          "AddressNotInPool",
          String.join(", ", r.wanted())
              + (r.pool() != null
                  ? " is not in AddressPool " + r.pool()
                  : " is in no AddressPool"));
    for (String ip : r.wanted())
      if (handWritten.contains(ip))
        return new Refused(
            "AddressInUse", ip + " belongs to a VirtualAddress that was not made for a Service");
    for (Holder h : holders) {
      if (h.ips().stream().noneMatch(r.wanted()::contains)) continue;
      boolean same = Set.copyOf(h.ips()).equals(Set.copyOf(r.wanted()));
      if (same
          && r.shareKey() != null
          && r.shareKey().equals(h.shareKey())
          && !conflicts(r, h, portsByService))
        return new Assigned(withUser(h, r.service()), false, null);
      return new Refused(
          "AddressInUse",
          String.join(", ", h.ips())
              + " is used by "
              + String.join(", ", new java.util.TreeSet<>(h.users()))
              + (same
                  ? " (to share it, give both Services the same "
                      + dev.carpoperator.api.v1alpha1.LoadBalancing.ANNOTATION_SHARE_KEY
                      + " and different ports)"
                  : ""));
    }
    return new Assigned(
        new Holder(name(r, r.wanted()), pool.name(), r.wanted(), r.shareKey(), Set.of(r.service())),
        true,
        null);
  }

  private static boolean conflicts(Request r, Holder h, Map<String, Set<String>> portsByService) {
    for (String user : h.users()) {
      if (user.equals(r.service())) continue;
      Set<String> theirs = portsByService.getOrDefault(user, Set.of());
      for (String p : r.ports()) if (theirs.contains(p)) return true;
    }
    return false;
  }

  private static Holder withUser(Holder h, String service) {
    Set<String> users = new LinkedHashSet<>(h.users());
    users.add(service);
    return new Holder(h.name(), h.pool(), h.ips(), h.shareKey(), Set.copyOf(users));
  }

  static Set<String> families(List<String> ips) {
    Set<String> out = new HashSet<>();
    for (String ip : ips) out.add(IpText.isIpv6(ip) ? IPV6 : IPV4);
    return out;
  }

  /**
   * The VirtualAddress's name: {@code lb-<namespace>-<name>-<hash>} for one Service, {@code
   * lb-shared-<key>-<hash>} for a shared one; at most 63 characters of a DNS label.
   */
  static String name(Request r, List<String> ips) {
    String base;
    String hashed;
    if (r.shareKey() == null) {
      base = "lb-" + r.service().replace('/', '-');
      hashed = r.service();
    } else {
      base = "lb-shared-" + r.shareKey();
      hashed = r.shareKey() + "|" + String.join(",", ips);
    }
    String clean = base.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    clean = clean.replaceAll("-+", "-");
    if (clean.length() > 54) clean = clean.substring(0, 54);
    clean = clean.replaceAll("-+$", "");
    return clean + "-" + sha(hashed).substring(0, 8);
  }

  private static String sha(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
