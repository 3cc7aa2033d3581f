package dev.carpoperator.bench.failover;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.bench.failover.Contender.Role;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lines each daemon, ip monitor and the probe client print, as the bench reads them. */
class LogParsingTest {
  private static final Instant READ = Instant.parse("2026-11-24T23:00:00.500Z");

  private static Instant local(String t) {
    return LocalDateTime.parse(t).atZone(ZoneId.systemDefault()).toInstant();
  }

  @Test
  void agentStateChangeUsesItsOwnTimestamp() {
    AgentContender agent = new AgentContender();
    String master =
        "{\"@timestamp\":\"2026-11-24T23:00:00.123Z\",\"message\":\"x\",\"event\":\"state-change\",\"vhid\":1,\"from\":\"BACKUP\",\"to\":\"MASTER\"}";
    assertThat(agent.role(master)).contains(Role.MASTER);
    assertThat(agent.masterDecision(new StampedProcess.Line(READ, master)))
        .contains(Instant.parse("2026-11-24T23:00:00.123Z"));
    assertThat(agent.role(master.replace("\"to\":\"MASTER\"", "\"to\":\"INIT\"")))
        .contains(Role.OTHER);
    assertThat(agent.role("{\"@timestamp\":\"2026-11-24T23:00:00.123Z\",\"message\":\"started\"}"))
        .isEmpty();
  }

  @Test
  void ucarpStateLineHasMicroseconds() {
    UcarpContender ucarp = new UcarpContender();
    String master = "2026-11-24T23:58:55.341487: [WARNING] Switching to state: MASTER";
    assertThat(ucarp.masterDecision(new StampedProcess.Line(READ, master)))
        .contains(local("2026-11-24T23:58:55.341487"));
    assertThat(ucarp.role("2026-11-24T23:58:55.135865: [WARNING] Switching to state: BACKUP"))
        .contains(Role.BACKUP);
    assertThat(
            ucarp.role(
                "2026-11-24T23:58:55.136090: [WARNING] Spawning [/tmp/up.sh eth0 192.0.2.100]"))
        .isEmpty();
  }

  @Test
  void keepalivedDecisionIsWhenTheLineWasRead() {
    KeepalivedContender k = new KeepalivedContender();
    String master = "Tue Nov 24 23:58:46 2026: (VI_1) Entering MASTER STATE";
    assertThat(k.masterDecision(new StampedProcess.Line(READ, master))).contains(READ);
    assertThat(k.role("Tue Nov 24 23:58:46 2026: (VI_1) Entering BACKUP STATE (init)"))
        .contains(Role.BACKUP);
    assertThat(k.role("Tue Nov 24 23:58:46 2026: (VI_1) Entering FAULT STATE"))
        .contains(Role.OTHER);
  }

  @Test
  void ipMonitorAdditionsOfTheVirtualAddressOnly() {
    assertThat(
            FailoverBench.Lab.vipAdded(
                "[2026-11-24T23:59:50.489884] 2: eth0    inet 192.0.2.100/24 scope global secondary eth0"))
        .contains(local("2026-11-24T23:59:50.489884"));
    assertThat(
            FailoverBench.Lab.vipAdded(
                "[2026-11-24T23:59:50.692938] Deleted 2: eth0    inet 192.0.2.100/24 scope global eth0"))
        .isEmpty();
    assertThat(FailoverBench.Lab.vipAdded("       valid_lft forever preferred_lft forever"))
        .isEmpty();
  }

  @Test
  void gratuitousArpFromTheNewMasterAfterTheFailure() {
    Instant since = Instant.ofEpochSecond(1000);
    List<String> lines =
        List.of(
            "arp 999000000 02:ca:00:00:01:02 192.0.2.100 ff:ff:ff:ff:ff:ff", // before the failure
            "arp 1000000100 02:ca:00:00:01:01 192.0.2.100 ff:ff:ff:ff:ff:ff", // another node
            "arp 1000000200 02:ca:00:00:01:02 192.0.2.20 02:ca:00:00:01:03", // a reply to the
            // client, not an
            // announcement
            "arp 1000000300 02:ca:00:00:01:02 192.0.2.100 ff:ff:ff:ff:ff:ff");
    assertThat(FailoverBench.Lab.firstAnnouncement(lines, "02:CA:00:00:01:02", since))
        .hasValue(1000000300L);
  }
}
