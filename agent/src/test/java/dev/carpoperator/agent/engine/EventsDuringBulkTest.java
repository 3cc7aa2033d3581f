package dev.carpoperator.agent.engine;

import static dev.carpoperator.agent.engine.EventsDuringBulk.Step.FOLLOW_AGAIN_AND_REFRESH;
import static dev.carpoperator.agent.engine.EventsDuringBulk.Step.NONE;
import static dev.carpoperator.agent.engine.EventsDuringBulk.Step.STOP_FOLLOWING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.carpoperator.agent.sync.BulkState;
import org.junit.jupiter.api.Test;

class EventsDuringBulkTest {
  private final EventsDuringBulk events = new EventsDuringBulk();

  @Test
  void aBackupStopsFollowingWhileTheStatesComeAndRefreshesAfterEveryEnding() {
    for (BulkState end :
        new BulkState[] {BulkState.DONE, BulkState.TIMED_OUT, BulkState.REQUESTING}) {
      assertEquals(
          NONE, events.bulkStateChanged(BulkState.REQUESTING, false), "asking is not receiving");
      assertEquals(STOP_FOLLOWING, events.bulkStateChanged(BulkState.RECEIVING, false));
      assertTrue(events.paused());
      assertEquals(NONE, events.bulkStateChanged(BulkState.RECEIVING, false), "once");
      assertEquals(FOLLOW_AGAIN_AND_REFRESH, events.bulkStateChanged(end, false), end.name());
      assertFalse(events.paused());
      assertEquals(NONE, events.bulkStateChanged(BulkState.IDLE, false), "once");
    }
  }

  @Test
  void aMasterKeepsFollowingItsOwnConnections() {
    assertEquals(NONE, events.bulkStateChanged(BulkState.RECEIVING, true));
    assertFalse(events.paused());
    assertEquals(NONE, events.bulkStateChanged(BulkState.DONE, true));
  }

  @Test
  void becomingMasterDuringTheBulkFollowsAgainAtOnce() {
    assertEquals(NONE, events.becameMaster(), "nothing paused");
    events.bulkStateChanged(BulkState.RECEIVING, false);
    assertEquals(FOLLOW_AGAIN_AND_REFRESH, events.becameMaster());
    assertEquals(NONE, events.bulkStateChanged(BulkState.DONE, true), "already following");
  }

  @Test
  void aRefusedStopLeavesNothingPaused() {
    events.bulkStateChanged(BulkState.RECEIVING, false);
    events.stopRefused();
    assertEquals(NONE, events.bulkStateChanged(BulkState.DONE, false));
  }
}
