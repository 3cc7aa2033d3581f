package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NeighbourTableTest {
  static final String TABLE =
      """
      IP address       HW type     Flags       HW address            Mask     Device
      192.0.2.12       0x1         0x2         02:ca:00:00:01:02     *        eth0
      192.0.2.13       0x1         0x0         00:00:00:00:00:00     *        eth0
      192.0.2.12       0x1         0x2         02:ca:00:00:09:09     *        eth1
      """;

  @Test
  void readsCompleteEntriesOfTheInterfaceOnly(@TempDir Path dir) throws Exception {
    Path arp = dir.resolve("arp");
    Files.writeString(arp, TABLE);
    NeighbourTable t = new NeighbourTable(arp, System::nanoTime);
    assertThat(t.readKernelTable("eth0", v4("192.0.2.12")))
        .isEqualTo(MacAddress.parse("02:ca:00:00:01:02"));
    assertThat(t.readKernelTable("eth1", v4("192.0.2.12")))
        .isEqualTo(MacAddress.parse("02:ca:00:00:09:09"));
    assertThat(t.readKernelTable("eth0", v4("192.0.2.13"))).as("incomplete entry").isNull();
    assertThat(t.readKernelTable("eth0", v4("192.0.2.99"))).isNull();
    assertThat(
            new NeighbourTable(dir.resolve("missing"), System::nanoTime)
                .readKernelTable("eth0", v4("192.0.2.12")))
        .isNull();
  }

  private static Inet4Address v4(String s) throws Exception {
    return (Inet4Address) InetAddress.getByName(s);
  }
}
