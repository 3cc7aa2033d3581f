package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.sync.BulkState;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class KubeAgentSyncStateTest {
  @Test
  void everyBulkStateIsReportedWithItsLowerCaseName() {
    for (BulkState s : BulkState.values()) {
      var reported = KubeAgent.bulkSyncState(s);
      assertThat(reported.wire()).isEqualTo(s.name().toLowerCase(Locale.ROOT));
      assertThat(reported.pending()).as("%s pending", s).isEqualTo(s.pending());
    }
  }
}
