package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.net.AddressManager.IfAddress;
import dev.carpoperator.testing.netns.NetnsLab;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * AddressManager against a lab host's eth0 ({@code ip -n <ns>}), never the machine's own
 * interfaces. Run once per {@link AddressManager.Mode} by the two subclasses.
 */
abstract class AddressManagerNetnsTestBase {
  abstract AddressManager.Mode mode();

  NetnsLab lab;
  NetnsLab.Host host;
  AddressManager am;

  @BeforeEach
  void lab() {
    lab = NetnsLab.create();
    host = lab.addHost("a", "192.0.2.1/24", "2001:db8::1/64");
    lab.addHost("b", "192.0.2.2/24", "2001:db8::2/64");
    am = new AddressManager(List.of("ip", "-n", host.namespace()), Duration.ofSeconds(5), mode());
  }

  @AfterEach
  void close() {
    if (am != null) {
      am.close();
    }
    if (lab != null) {
      lab.close();
    }
  }

  List<String> cidrs() throws Exception {
    return am.list("eth0").stream().map(IfAddress::cidr).toList();
  }

  @Test
  void ipv4AddAndRemoveAreIdempotent() throws Exception {
    am.add("eth0", "192.0.2.10/24");
    am.add("eth0", "192.0.2.10/24");
    assertThat(cidrs()).contains("192.0.2.1/24", "192.0.2.10/24");
    assertThat(am.has("eth0", "192.0.2.10")).isTrue();
    assertThat(host.exec("ping", "-c", "1", "-W", "2", "-I", "192.0.2.10", "192.0.2.2").ok())
        .isTrue();
    am.remove("eth0", "192.0.2.10/24");
    am.remove("eth0", "192.0.2.10/24");
    assertThat(cidrs()).contains("192.0.2.1/24").doesNotContain("192.0.2.10/24");

    am.add("eth0", "192.0.2.11"); // no prefix: /32
    assertThat(cidrs()).contains("192.0.2.11/32");
    am.remove("eth0", "192.0.2.11");
    assertThat(am.has("eth0", "192.0.2.11")).isFalse();
  }

  @Test
  void ipv6IsAddedWithoutDadAndNotPreferredAsSource() throws Exception {
    am.add("eth0", "2001:db8::10/64");
    am.add("eth0", "2001:db8::10/64");
    IfAddress vip =
        am.list("eth0").stream()
            .filter(a -> a.address().equals(InetAddress.ofLiteral("2001:db8::10")))
            .findFirst()
            .orElseThrow();
    assertThat(vip.prefixLength()).isEqualTo(64);
    assertThat(vip.deprecated()).isTrue();
    String shown = host.exec("ip", "-6", "addr", "show", "dev", "eth0").check().stdout();
    assertThat(shown.lines().filter(l -> l.contains("2001:db8::10/64")).findFirst().orElseThrow())
        .contains("nodad")
        .contains("deprecated")
        .doesNotContain("tentative");
    // the kernel keeps choosing the node's own address as source, not the (deprecated) VIP
    assertThat(host.exec("ip", "-6", "route", "get", "2001:db8::2").check().stdout())
        .contains("src 2001:db8::1 ");
    assertThat(
            host.exec("ping", "-6", "-c", "1", "-W", "2", "-I", "2001:db8::10", "2001:db8::2").ok())
        .isTrue();
    am.remove("eth0", "2001:db8::10/64");
    am.remove("eth0", "2001:db8::10/64");
    assertThat(am.has("eth0", "2001:db8::10")).isFalse();
    assertThat(cidrs()).contains("2001:db8::1/64");
  }

  @Test
  void linkStateAndMac() throws Exception {
    AddressManager.LinkState s = am.link("eth0");
    assertThat(s.mac()).isEqualTo(MacAddress.parse(host.mac()));
    assertThat(s.adminUp()).isTrue();
    assertThat(s.lowerUp()).isTrue();
    host.cut(); // switch side down: carrier lost, admin state unchanged
    assertThat(am.link("eth0").lowerUp()).isFalse();
    assertThat(am.link("eth0").adminUp()).isTrue();
    host.restore();
    am.setLinkUp("eth0", false);
    assertThat(am.link("eth0").adminUp()).isFalse();
    am.setLinkUp("eth0", true);
    assertThat(am.link("eth0").adminUp()).isTrue();
    assertThat(am.link("eth0").lowerUp()).isTrue();
    // Linux flushes IPv6 addresses on admin down (keep_addr_on_down=0) but keeps IPv4 ones
    assertThat(cidrs()).contains("192.0.2.1/24").doesNotContain("2001:db8::1/64");
  }

  @Test
  void errorsNameInterfaceAddressAndIpText() {
    assertThatThrownBy(() -> am.add("nope0", "192.0.2.10/24"))
        .isInstanceOf(AddressException.class)
        .hasMessageContaining("nope0")
        .hasMessageContaining("192.0.2.10/24")
        .hasMessageContaining("Cannot find device");
    assertThatThrownBy(() -> am.remove("nope0", "192.0.2.10/24"))
        .isInstanceOf(AddressException.class)
        .hasMessageContaining("nope0");
    assertThatThrownBy(() -> am.link("nope0"))
        .isInstanceOf(AddressException.class)
        .hasMessageContaining("nope0");
    assertThatThrownBy(() -> am.add("eth0", "not-an-address"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> am.add("eth0 x", "192.0.2.10/24"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> am.add("eth0", "192.0.2.10/24 dev lo"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> am.add("eth0", "192.0.2.10/99"))
        .isInstanceOf(AddressException.class)
        .hasMessageContaining("192.0.2.10/99");
    // after errors the manager keeps working (batch mode: same ip process, or a restarted one)
    assertThatNoException().isThrownBy(() -> am.add("eth0", "192.0.2.12/24"));
  }

  static InetAddress addr(String s) throws Exception {
    return InetAddress.getByName(s);
  }
}
