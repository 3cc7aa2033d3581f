package dev.carpoperator.operator.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.operator.service.PoolAllocator.Assigned;
import dev.carpoperator.operator.service.PoolAllocator.Holder;
import dev.carpoperator.operator.service.PoolAllocator.Outcome;
import dev.carpoperator.operator.service.PoolAllocator.Pool;
import dev.carpoperator.operator.service.PoolAllocator.Refused;
import dev.carpoperator.operator.service.PoolAllocator.Request;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PoolAllocatorTest {
  static final Pool LAN =
      Pool.of("lan", "edge", List.of("192.0.2.200-192.0.2.201", "2001:db8:1::/126"), true, false);
  static final Pool RESERVED = Pool.of("reserved", "edge", List.of("192.0.2.210/31"), false, false);
  static final List<Pool> POOLS = List.of(LAN, RESERVED);

  static Request v4(String service) {
    return new Request(service, List.of("IPv4"), false, List.of(), null, null, Set.of("TCP/80"));
  }

  static Outcome place(Request r, List<Holder> holders) {
    return PoolAllocator.place(r, POOLS, holders, ports(holders, r), Set.of());
  }

  /** Every user of the holders serves TCP/80, like the request. */
  static Map<String, Set<String>> ports(List<Holder> holders, Request r) {
    var out = new java.util.HashMap<String, Set<String>>();
    for (Holder h : holders) for (String u : h.users()) out.put(u, Set.of("TCP/80"));
    out.put(r.service(), r.ports());
    return out;
  }

  static Holder assigned(Outcome o) {
    assertThat(o).isInstanceOf(Assigned.class);
    return ((Assigned) o).holder();
  }

  @Test
  void takesTheFirstFreeAddressOfAnAutoAssigningPool() {
    Holder a = assigned(place(v4("shop/web"), List.of()));
    assertThat(a.ips()).containsExactly("192.0.2.200");
    assertThat(a.pool()).isEqualTo("lan");
    assertThat(a.users()).containsExactly("shop/web");
    Holder b = assigned(place(v4("shop/api"), List.of(a)));
    assertThat(b.ips()).containsExactly("192.0.2.201");
    assertThat(b.name()).isNotEqualTo(a.name()).matches("[a-z0-9-]{1,63}");
  }

  @Test
  void anExhaustedPoolIsRefusedWithItsName() {
    List<Holder> full =
        List.of(
            new Holder("a", "lan", List.of("192.0.2.200"), null, Set.of("x/a")),
            new Holder("b", "lan", List.of("192.0.2.201"), null, Set.of("x/b")));
    Outcome o = place(v4("shop/web"), full);
    assertThat(o).isInstanceOf(Refused.class);
    assertThat(((Refused) o).reason()).isEqualTo("PoolExhausted");
    assertThat(((Refused) o).message()).contains("lan");
  }

  @Test
  void addressesOfHandWrittenVirtualAddressesAreNeverHandedOut() {
    Outcome o =
        PoolAllocator.place(v4("shop/web"), POOLS, List.of(), Map.of(), Set.of("192.0.2.200"));
    assertThat(assigned(o).ips()).containsExactly("192.0.2.201");
    Request wanted =
        new Request(
            "shop/web", List.of("IPv4"), false, List.of("192.0.2.200"), null, null, Set.of());
    Outcome refused =
        PoolAllocator.place(wanted, POOLS, List.of(), Map.of(), Set.of("192.0.2.200"));
    assertThat(((Refused) refused).reason()).isEqualTo("AddressInUse");
  }

  @Test
  void aRequestedAddressMayComeFromAPoolWithoutAutoAssign() {
    Request r =
        new Request(
            "shop/web", List.of("IPv4"), false, List.of("192.0.2.211"), null, null, Set.of());
    Holder h = assigned(place(r, List.of()));
    assertThat(h.pool()).isEqualTo("reserved");
    assertThat(h.ips()).containsExactly("192.0.2.211");
  }

  @Test
  void anAddressOutsideEveryPoolIsRefused() {
    Request r =
        new Request(
            "shop/web", List.of("IPv4"), false, List.of("192.0.2.99"), null, null, Set.of());
    Refused o = (Refused) place(r, List.of());
    assertThat(o.reason()).isEqualTo("AddressNotInPool");
    assertThat(o.message()).contains("192.0.2.99");
    Request named =
        new Request(
            "shop/web", List.of("IPv4"), false, List.of("192.0.2.211"), "lan", null, Set.of());
    assertThat(((Refused) place(named, List.of())).message()).contains("not in AddressPool lan");
  }

  @Test
  void aPoolThatDoesNotExistIsRefused() {
    Request r = new Request("shop/web", List.of("IPv4"), false, List.of(), "nope", null, Set.of());
    assertThat(((Refused) place(r, List.of())).reason()).isEqualTo("PoolNotFound");
  }

  @Test
  void dualStackGetsOneAddressOfEachFamily() {
    Request r =
        new Request(
            "shop/web", List.of("IPv4", "IPv6"), true, List.of(), null, null, Set.of("TCP/80"));
    Holder h = assigned(place(r, List.of()));
    assertThat(h.ips()).containsExactly("192.0.2.200", "2001:db8:1::");
  }

  @Test
  void requireDualStackIsRefusedWhenOneFamilyIsExhausted() {
    Pool v4only = Pool.of("v4", "edge", List.of("192.0.2.50/32"), true, false);
    Request r =
        new Request("shop/web", List.of("IPv4", "IPv6"), true, List.of(), null, null, Set.of());
    Outcome o = PoolAllocator.place(r, List.of(v4only), List.of(), Map.of(), Set.of());
    assertThat(((Refused) o).reason()).isEqualTo("PoolExhausted");
    Request prefer =
        new Request("shop/web", List.of("IPv4", "IPv6"), false, List.of(), null, null, Set.of());
    Outcome p = PoolAllocator.place(prefer, List.of(v4only), List.of(), Map.of(), Set.of());
    assertThat(assigned(p).ips()).containsExactly("192.0.2.50");
  }

  @Test
  void servicesWithTheSameKeyAndOtherPortsShareAnAddress() {
    Holder web =
        new Holder("lb-shared", "lan", List.of("192.0.2.200"), "front", Set.of("shop/web"));
    Request dns =
        new Request("shop/dns", List.of("IPv4"), false, List.of(), null, "front", Set.of("UDP/53"));
    Holder h =
        assigned(
            PoolAllocator.place(
                dns, POOLS, List.of(web), Map.of("shop/web", Set.of("TCP/80")), Set.of()));
    assertThat(h.name()).isEqualTo("lb-shared");
    assertThat(h.users()).containsExactlyInAnyOrder("shop/web", "shop/dns");
  }

  @Test
  void aPortClashOrAnotherKeyGetsItsOwnAddressOrARefusalWhenTheAddressWasRequested() {
    Holder web =
        new Holder("lb-shared", "lan", List.of("192.0.2.200"), "front", Set.of("shop/web"));
    Map<String, Set<String>> ports = Map.of("shop/web", Set.of("TCP/80"));
    Request clash =
        new Request(
            "shop/web2", List.of("IPv4"), false, List.of(), null, "front", Set.of("TCP/80"));
    assertThat(assigned(PoolAllocator.place(clash, POOLS, List.of(web), ports, Set.of())).ips())
        .containsExactly("192.0.2.201");
    Request wantedNoKey =
        new Request(
            "shop/other",
            List.of("IPv4"),
            false,
            List.of("192.0.2.200"),
            null,
            null,
            Set.of("TCP/81"));
    Refused r = (Refused) PoolAllocator.place(wantedNoKey, POOLS, List.of(web), ports, Set.of());
    assertThat(r.reason()).isEqualTo("AddressInUse");
    assertThat(r.message()).contains("shop/web").contains("allow-shared-ip");
  }

  @Test
  void aServiceKeepsItsAddressWhileItFitsAndMovesWhenItsRequestChanges() {
    Holder mine = new Holder("lb-mine", "lan", List.of("192.0.2.201"), null, Set.of("shop/web"));
    Outcome same = place(v4("shop/web"), List.of(mine));
    assertThat(((Assigned) same).created()).isFalse();
    assertThat(((Assigned) same).holder()).isEqualTo(mine);
    Request moved =
        new Request(
            "shop/web",
            List.of("IPv4"),
            false,
            List.of("192.0.2.210"),
            null,
            null,
            Set.of("TCP/80"));
    Assigned a = (Assigned) place(moved, List.of(mine));
    assertThat(a.created()).isTrue();
    assertThat(a.holder().ips()).containsExactly("192.0.2.210");
    assertThat(a.release()).isEqualTo(mine);
  }

  @Test
  void addressesAreCanonicalAndRangesParseOrSayWhatIsWrong() {
    assertThat(IpText.of("2001:DB8:0:0:0:0:0:1")).isEqualTo("2001:db8::1");
    assertThat(IpText.of("2001:db8:0:1:0:0:0:0")).isEqualTo("2001:db8:0:1::");
    assertThat(IpText.of("::")).isEqualTo("::");
    assertThat(IpText.of("1:0:0:2:0:0:0:3")).isEqualTo("1:0:0:2::3");
    assertThat(AddressRange.parse("192.0.2.7/30").first())
        .isEqualTo(AddressRange.value(AddressRange.literal("192.0.2.4")));
    assertThatThrownBy(() -> AddressRange.parse("192.0.2.9-192.0.2.1"))
        .hasMessageContaining("ends before it starts");
    assertThatThrownBy(() -> AddressRange.parse("192.0.2.1-2001:db8::1"))
        .hasMessageContaining("one family");
    assertThatThrownBy(() -> AddressRange.parse("nonsense")).hasMessageContaining("nonsense");
    Pool bad = Pool.of("bad", "edge", List.of("192.0.2.1/33"), true, false);
    assertThat(bad.problem()).contains("prefix length");
    Request named = new Request("a/b", List.of("IPv4"), false, List.of(), "bad", null, Set.of());
    assertThat(
            ((Refused) PoolAllocator.place(named, List.of(bad), List.of(), Map.of(), Set.of()))
                .reason())
        .isEqualTo("InvalidPool");
  }

  @Test
  void avoidBuggyIpsSkipsDotZeroAndDot255() {
    Pool p = Pool.of("p", "edge", List.of("192.0.2.255-192.0.3.1"), true, true);
    List<Holder> holders = new ArrayList<>();
    Holder first =
        assigned(PoolAllocator.place(v4("a/a"), List.of(p), holders, Map.of(), Set.of()));
    assertThat(first.ips()).containsExactly("192.0.3.1");
  }

  @Test
  void hugeIpv6RangesCostNoMoreThanSmallOnes() {
    Pool p = Pool.of("p", "edge", List.of("2001:db8::/64"), true, false);
    Request r = new Request("a/a", List.of("IPv6"), false, List.of(), null, null, Set.of());
    assertThat(assigned(PoolAllocator.place(r, List.of(p), List.of(), Map.of(), Set.of())).ips())
        .containsExactly("2001:db8::");
  }

  @Test
  void poolUsageCountsAssignedAndFreeAddressesPerFamily() {
    List<Holder> holders =
        List.of(
            new Holder("a", "lan", List.of("192.0.2.200", "2001:db8:1::"), null, Set.of("x/a")),
            new Holder("b", "other", List.of("192.0.2.201"), null, Set.of("x/b")));
    var s = PoolUsage.of(LAN, holders, Set.of());
    assertThat(s.getAssignedIPv4()).isEqualTo(1);
    assertThat(s.getAssignedIPv6()).isEqualTo(1);
    // .201 is taken by a VirtualAddress of another pool whose range overlaps: not free either.
    assertThat(s.getAvailableIPv4()).isZero();
    assertThat(s.getAvailableIPv6()).isEqualTo(3);
    Pool avoid = Pool.of("p", "edge", List.of("192.0.2.0/23"), true, true);
    assertThat(
            PoolUsage.of(avoid, List.of(), Set.of("192.0.2.255", "192.0.2.7")).getAvailableIPv4())
        .isEqualTo(512 - 4 - 1);
    Pool huge = Pool.of("h", "edge", List.of("2001:db8::/32"), true, false);
    assertThat(PoolUsage.of(huge, List.of(), Set.of()).getAvailableIPv6())
        .isEqualTo(Long.MAX_VALUE);
  }
}
