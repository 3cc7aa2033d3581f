package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeAddressesTest {
  static NodeAddresses.HostAddress on(String ifName, String address, int prefix) {
    return new NodeAddresses.HostAddress(ifName, InetAddress.ofLiteral(address), prefix);
  }

  static final List<NodeAddresses.HostAddress> HOST =
      List.of(
          on("lo", "127.0.0.1", 8),
          on("eth0", "192.0.2.11", 24),
          on("eth0", "2001:db8::11", 64),
          on("eth1", "198.51.100.1", 24));

  @Test
  void aVirtualAddressThatIsTheNodesOwnIpConflictsWhateverItsPrefixLength() {
    var c = NodeAddresses.conflicts(List.of("192.0.2.100/24", "192.0.2.11/32"), HOST, Set.of());
    assertThat(c).hasSize(1);
    assertThat(c.getFirst().prefix()).isEqualTo("192.0.2.11/32");
    assertThat(c.getFirst().own()).isEqualTo(on("eth0", "192.0.2.11", 24));
    assertThat(c.getFirst().describe())
        .isEqualTo("192.0.2.11/32 is this node's own address 192.0.2.11/24 on eth0");
  }

  @Test
  void anyInterfaceAndBothFamiliesCount() {
    assertThat(NodeAddresses.conflicts(List.of("198.51.100.1/24"), HOST, Set.of())).hasSize(1);
    assertThat(NodeAddresses.conflicts(List.of("2001:0db8:0::11/64"), HOST, Set.of())).hasSize(1);
    assertThat(
            NodeAddresses.conflicts(List.of("192.0.2.100/24", "2001:db8::100/64"), HOST, Set.of()))
        .isEmpty();
  }

  @Test
  void anAddressThisAgentAddedIsNotTheNodesOwn() {
    var host = List.of(on("eth0", "192.0.2.11", 24), on("eth0", "192.0.2.100", 24));
    assertThat(
            NodeAddresses.conflicts(
                List.of("192.0.2.100/24"),
                host,
                Set.of(new AddressRecord.Entry("eth0", "192.0.2.100/24"))))
        .isEmpty();
  }

  @Test
  void aRecordedAddressOnAnotherInterfaceOrWithAnotherPrefixDoesNotExcuseTheHostsOwn() {
    var host = List.of(on("eth0", "192.0.2.100", 24));
    assertThat(
            NodeAddresses.conflicts(
                List.of("192.0.2.100/24"),
                host,
                Set.of(new AddressRecord.Entry("eth1", "192.0.2.100/24"))))
        .hasSize(1);
    assertThat(
            NodeAddresses.conflicts(
                List.of("192.0.2.100/24"),
                host,
                Set.of(new AddressRecord.Entry("eth0", "192.0.2.100/32"))))
        .hasSize(1);
  }

  @Test
  void theHostsAddressesAreListedWithoutScope() throws Exception {
    List<NodeAddresses.HostAddress> own = NodeAddresses.ofHost();
    assertThat(own).anySatisfy(a -> assertThat(a.address().isLoopbackAddress()).isTrue());
    assertThat(own).allSatisfy(a -> assertThat(a.cidr()).doesNotContain("%"));
  }
}
