package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AddressTextTest {
  static String t(String s) {
    return AddressManager.text(InetAddress.ofLiteral(s));
  }

  @Test
  void rfc5952() {
    assertThat(t("2001:db8:0:0:0:0:0:1")).isEqualTo("2001:db8::1");
    assertThat(t("::")).isEqualTo("::");
    assertThat(t("::1")).isEqualTo("::1");
    assertThat(t("fe80::")).isEqualTo("fe80::");
    assertThat(t("2001:db8:0:1:1:1:1:1")).isEqualTo("2001:db8:0:1:1:1:1:1");
    assertThat(t("2001:0:0:1:0:0:0:1")).isEqualTo("2001:0:0:1::1");
    assertThat(t("2001:db8:0:0:1:0:0:1")).isEqualTo("2001:db8::1:0:0:1");
    assertThat(t("fe80::ca:ff:fe00:401")).isEqualTo("fe80::ca:ff:fe00:401");
    assertThat(t("192.0.2.1")).isEqualTo("192.0.2.1");
  }

  @Test
  void normalise() {
    assertThat(AddressManager.normalise(" 192.0.2.1 ")).isEqualTo("192.0.2.1/32");
    assertThat(AddressManager.normalise("2001:db8::1")).isEqualTo("2001:db8::1/128");
    assertThat(AddressManager.normalise("2001:db8::1/64")).isEqualTo("2001:db8::1/64");
  }
}
