package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.engine.CarpEngine;
import dev.carpoperator.agent.sync.BulkState;
import dev.carpoperator.api.v1alpha1.CarpApi;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** What the agent writes into {@code status.nodes[]} uses the values the api module defines. */
class StatusValuesTest {
  @Test
  void everyBulkStateIsReportedWithItsLowerCaseName() {
    for (BulkState s : BulkState.values()) {
      var reported = KubeAgent.bulkSyncState(s);
      assertThat(reported.wire()).isEqualTo(s.name().toLowerCase(Locale.ROOT));
      assertThat(reported.pending()).as("%s pending", s).isEqualTo(s.pending());
    }
  }

  @Test
  void theRefusalReasonIsTheOneTheOperatorReads() {
    assertThat(CarpEngine.ADDRESS_IS_NODE_ADDRESS)
        .isEqualTo(CarpApi.REASON_ADDRESS_IS_NODE_ADDRESS);
  }
}
