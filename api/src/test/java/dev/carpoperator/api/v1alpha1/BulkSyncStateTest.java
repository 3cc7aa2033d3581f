package dev.carpoperator.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BulkSyncStateTest {
  @Test
  void theWireValuesParseBackAndNothingElseDoes() {
    for (BulkSyncState s : BulkSyncState.values())
      assertThat(BulkSyncState.parse(s.wire())).contains(s);
    assertThat(BulkSyncState.parse("timed_out")).contains(BulkSyncState.TIMED_OUT);
    assertThat(BulkSyncState.parse(null)).isEmpty();
    assertThat(BulkSyncState.parse("RECEIVING")).isEmpty();
    assertThat(BulkSyncState.parse("catching-up")).as("a newer agent's state").isEmpty();
  }

  @Test
  void theStatusFieldStaysAString() {
    NodeVhidStatus n = new NodeVhidStatus();
    n.syncState(BulkSyncState.RECEIVING);
    assertThat(n.getSync()).isEqualTo("receiving");
    assertThat(n.syncState()).contains(BulkSyncState.RECEIVING);
    assertThat(n.syncState().get().pending()).isTrue();
    n.syncState(null);
    assertThat(n.getSync()).isNull();
    assertThat(n.syncState()).isEmpty();
  }
}
