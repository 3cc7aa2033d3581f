package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.testing.kube.ControlPlane;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The agent's heartbeat Lease on a real API server. */
class NodeHeartbeatTest {
  static final String NS = "heartbeat-test";

  /** A clock the test moves. */
  static final class TestClock extends Clock {
    Instant now = Instant.parse("2026-12-07T12:00:00.123456Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @BeforeAll
  static void namespace() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      admin
          .namespaces()
          .resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
          .serverSideApply();
    }
  }

  @Test
  void theLeaseIsCreatedThenRenewed() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      TestClock clock = new TestClock();
      NodeHeartbeat h = new NodeHeartbeat(admin, NS, "mickey", clock);
      assertThat(h.renewing()).as("not before the first renewal").isFalse();
      h.renew();
      Lease lease =
          admin.resources(Lease.class).inNamespace(NS).withName("carp-agent-mickey").get();
      assertThat(lease.getMetadata().getLabels()).containsAllEntriesOf(NodeHeartbeat.LABELS);
      assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("mickey");
      assertThat(lease.getSpec().getLeaseDurationSeconds())
          .isEqualTo(NodeHeartbeat.LEASE_DURATION_SECONDS);
      assertThat(lease.getSpec().getRenewTime().toInstant()).isEqualTo(clock.now);
      assertThat(h.renewing()).isTrue();

      clock.now = clock.now.plusSeconds(10);
      h.renew();
      lease = admin.resources(Lease.class).inNamespace(NS).withName("carp-agent-mickey").get();
      assertThat(lease.getSpec().getRenewTime().toInstant())
          .as("renewed, to the microsecond")
          .isEqualTo(clock.now);
      assertThat(lease.getSpec().getAcquireTime().toInstant())
          .as("acquired when created")
          .isEqualTo(clock.now.minusSeconds(10));

      clock.now = clock.now.plus(NodeHeartbeat.RENEW_INTERVAL.multipliedBy(2));
      assertThat(h.renewing()).as("two intervals without a renewal").isFalse();
      h.close();

      // The node comes back: its new agent's renewals carry the new run's start as acquireTime,
      // which tells the operator that entries written before it are the old run's.
      clock.now = clock.now.plusSeconds(60);
      Instant restarted = clock.now;
      NodeHeartbeat again = new NodeHeartbeat(admin, NS, "mickey", clock);
      clock.now = clock.now.plusSeconds(2);
      again.renew();
      lease = admin.resources(Lease.class).inNamespace(NS).withName("carp-agent-mickey").get();
      assertThat(lease.getSpec().getAcquireTime().toInstant())
          .as("acquired when this run started")
          .isEqualTo(restarted);
      assertThat(lease.getSpec().getRenewTime().toInstant()).isEqualTo(clock.now);
      again.close();
    }
  }

  /**
   * An agent whose Role lacks the Lease permission (an older chart's RBAC) says so and is not
   * renewing, so that its status reporter refreshes its entries as before.
   */
  @Test
  void withoutThePermissionTheHeartbeatIsNotRenewing() {
    try (KubernetesClient admin = ControlPlane.shared().adminClient()) {
      admin
          .serviceAccounts()
          .inNamespace(NS)
          .resource(
              new ServiceAccountBuilder()
                  .withNewMetadata()
                  .withName("no-lease")
                  .endMetadata()
                  .build())
          .serverSideApply();
      try (KubernetesClient forbidden =
              ControlPlane.shared().serviceAccountClient(admin, NS, "no-lease");
          NodeHeartbeat h = NodeHeartbeat.start(forbidden, NS, "minnie")) {
        // The first attempt runs at once: wait until it has been made and refused.
        await().atMost(Duration.ofSeconds(30)).until(h::failing);
        assertThat(h.renewing()).isFalse();
      }
      assertThat(admin.resources(Lease.class).inNamespace(NS).withName("carp-agent-minnie").get())
          .isNull();
    }
  }
}
