package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Joining puts the CARP group MACs into the interface's multicast filter list (what a real NIC
 * filters on).
 */
class MulticastMembershipNetnsTest {
  @Test
  void joinAddsBothGroupMacsAndLeavingRemovesThem() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.1/24");
      assertThat(maddr(a)).doesNotContain("01:00:5e:00:00:12").doesNotContain("33:33:00:00:00:12");
      LabProcess p = a.startJava("join", JoinGroupsMain.class, "eth0");
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> p.output().contains("JOINED") || !p.isAlive());
      assertThat(p.output()).contains("JOINED 2");
      assertThat(maddr(a))
          .contains("01:00:5e:00:00:12")
          .contains("224.0.0.18")
          .contains("33:33:00:00:00:12")
          .contains("ff02::12");
      p.stop(Duration.ofSeconds(5));
      assertThat(maddr(a)).doesNotContain("224.0.0.18").doesNotContain("ff02::12");
    }
  }

  static String maddr(NetnsLab.Host h) {
    return h.exec("ip", "maddr", "show", "dev", "eth0").check().stdout();
  }
}
