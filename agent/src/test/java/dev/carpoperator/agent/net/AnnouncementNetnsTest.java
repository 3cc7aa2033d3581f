package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The takeover the real-MAC design relies on: a VIP moves from host a to host c, c announces it,
 * and host b's kernel (default sysctls) rewrites its existing ARP and neighbour entries to c's MAC
 * without asking again.
 */
class AnnouncementNetnsTest {
  static final String VIP4 = "192.0.2.100";
  static final String VIP6 = "2001:db8::100";

  @Test
  void gratuitousArpAndUnsolicitedNaMoveNeighbourEntries() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.1/24", "2001:db8::1/64");
      NetnsLab.Host b = lab.addHost("b", "192.0.2.2/24", "2001:db8::2/64");
      NetnsLab.Host c = lab.addHost("c", "192.0.2.3/24", "2001:db8::3/64");
      try (AddressManager onA = manager(a);
          AddressManager onC = manager(c)) {
        onA.add("eth0", VIP4 + "/24");
        onA.add("eth0", VIP6 + "/64");
        b.exec("ping", "-c", "1", "-W", "2", VIP4).check();
        b.exec("ping", "-6", "-c", "1", "-W", "2", VIP6).check();
        assertThat(neigh(b, VIP4)).contains(a.mac());
        assertThat(neigh(b, VIP6)).contains(a.mac());

        onA.remove("eth0", VIP4 + "/24");
        onA.remove("eth0", VIP6 + "/64");
        onC.add("eth0", VIP4 + "/24");
        onC.add("eth0", VIP6 + "/64");
        LabProcess announce =
            c.startJava("announce", AnnounceMain.class, "eth0", c.mac(), VIP4, VIP6);
        assertThat(announce.waitFor(Duration.ofSeconds(60))).as(announce.output()).isZero();
        assertThat(announce.output()).contains("sent=2");

        // no traffic from b in between: the entries changed because of the announcements
        assertThat(neigh(b, VIP4)).contains(c.mac());
        assertThat(neigh(b, VIP6)).contains(c.mac());
      }
    }
  }

  static AddressManager manager(NetnsLab.Host h) {
    return new AddressManager(
        List.of("ip", "-n", h.namespace()), Duration.ofSeconds(5), AddressManager.Mode.BATCH);
  }

  static String neigh(NetnsLab.Host h, String ip) {
    return h.exec("ip", "neigh", "show", ip).check().stdout();
  }
}
