package dev.carpoperator.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.api.v1alpha1.NodeVhidStatus;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class AgentHeartbeatsTest {
  static final Instant T0 = Instant.parse("2026-12-07T12:00:00Z");

  static Lease lease(String name, String holder, Instant renewed) {
    return new LeaseBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withHolderIdentity(holder)
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
}
