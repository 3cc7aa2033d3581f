package dev.carpoperator.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class AgentHeartbeatsTest {
  static final Instant T0 = Instant.parse("2026-12-07T12:00:00Z");

  static Lease lease(String name, String holder, Instant renewed) {
    return lease(name, holder, null, renewed);
  }

  static Lease lease(String name, String holder, Instant acquired, Instant renewed) {
    return new LeaseBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withHolderIdentity(holder)
        .withAcquireTime(acquired == null ? null : acquired.atZone(ZoneOffset.UTC))
        .withRenewTime(renewed == null ? null : renewed.atZone(ZoneOffset.UTC))
        .endSpec()
        .build();
  }

  @Test
  void aLeaseSpeaksForItsHolderOrTheNodeInItsName() {
    AgentHeartbeats h =
        AgentHeartbeats.of(
            Stream.of(
                lease("carp-agent-mickey", "mickey", T0),
                lease("carp-agent-minnie", null, T0.plusSeconds(5)),
                lease("carp-agent-donald", "donald", null), // never renewed: left out
                lease("something-else", null, T0))); // no node to speak for
    assertThat(h.lastRenewal())
        .containsOnlyKeys("mickey", "minnie")
        .containsEntry("mickey", T0)
        .containsEntry("minnie", T0.plusSeconds(5));
  }

  @Test
  void anAgentIsHeardFromAtTheLaterOfItsEntryAndItsLease() {
    NodeVhidStatus e = new NodeVhidStatus();
    e.setName("mickey");
    e.setSince(T0.toString());
    AgentHeartbeats h =
        AgentHeartbeats.of(Stream.of(lease("carp-agent-mickey", "mickey", T0.plusSeconds(30))));
    assertThat(h.lastHeard(e)).isEqualTo(T0.plusSeconds(30));
    e.setLastReport(T0.plusSeconds(60).toString());
    assertThat(h.lastHeard(e)).isEqualTo(T0.plusSeconds(60));
    assertThat(AgentHeartbeats.NONE.lastHeard(e)).isEqualTo(T0.plusSeconds(60));
    e.setLastReport("garbled");
    assertThat(h.lastHeard(e))
        .as("an unreadable time counts as unknown")
        .isEqualTo(T0.plusSeconds(30));
  }

  static NodeVhidStatus entry(String node, Instant lastReport) {
    NodeVhidStatus e = new NodeVhidStatus();
    e.setName(node);
    e.setSince(lastReport.minusSeconds(1).toString());
    e.setLastReport(lastReport.toString());
    return e;
  }

  /**
   * mickey's agent crashed after writing an entry at T0 and a new one started at T0 + 40: the new
   * run's renewals vouch for what it writes, not for what the old run wrote.
   */
  @Test
  void aRenewalVouchesOnlyForEntriesOfTheRunThatRenews() {
    AgentHeartbeats h =
        AgentHeartbeats.of(
            Stream.of(
                lease("carp-agent-mickey", "mickey", T0.plusSeconds(40), T0.plusSeconds(50))));
    assertThat(h.runStart()).containsEntry("mickey", T0.plusSeconds(40));
    NodeVhidStatus oldRun = entry("mickey", T0);
    NodeVhidStatus newRun = entry("mickey", T0.plusSeconds(41));
    assertThat(h.lastHeard(oldRun)).as("the earlier run's entry").isEqualTo(T0);
    assertThat(h.lastHeard(newRun)).isEqualTo(T0.plusSeconds(50));
    assertThat(h.lastHeard(entry("mickey", T0.plusSeconds(40))))
        .as("written the instant the run started")
        .isEqualTo(T0.plusSeconds(50));
    assertThat(h.agentLastHeard("mickey", List.of(oldRun)))
        .as("the agent itself runs, whichever run wrote its entries")
        .isEqualTo(T0.plusSeconds(50));
    assertThat(h.agentLastHeard("mickey", List.of())).as("no entries: not reported").isNull();
    assertThat(AgentHeartbeats.NONE.agentLastHeard("mickey", List.of(oldRun, newRun)))
        .isEqualTo(T0.plusSeconds(41));
  }

  @Test
  void twoLeasesForOneNodeTheLatestRenewalSpeaks() {
    AgentHeartbeats h =
        AgentHeartbeats.of(
            Stream.of(
                lease("carp-agent-mickey", "mickey", T0.plusSeconds(40), T0.plusSeconds(50)),
                lease("carp-agent-other", "mickey", null, T0.plusSeconds(20))));
    assertThat(h.lastRenewal()).containsEntry("mickey", T0.plusSeconds(50));
    assertThat(h.runStart()).containsEntry("mickey", T0.plusSeconds(40));
  }
}
