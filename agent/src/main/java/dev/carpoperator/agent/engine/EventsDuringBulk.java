package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.sync.BulkState;

/**
 * Whether the agent follows its kernel's NEW and UPDATE events while a bulk update comes in.
 *
 * <p>For every state a backup writes, the kernel builds a conntrack event whenever anybody listens
 * to the group, even though our own socket filter then drops it: a quarter of the receiving sync
 * loop's time in a 250 000-state bulk (docs/benchmarks.md). A node receiving a bulk holds CARP back
 * and forwards nothing, so its own changes of those seconds can wait for a dump. So: stop following
 * when the peer's states start coming, unless this node is master of a vhid (then its connections
 * matter at once), and follow again, followed by a refresh from a dump, when the bulk ends in any
 * way or this node becomes master. The refresh announces what opened, changed or closed meanwhile.
 * (The kernel's mask of listeners is shared by all network namespaces: with another NEW listener on
 * the machine, such as a second lab node, the events are built anyway.)
 *
 * <p>Pure; the engine carries out the steps on the sync loop.
 */
final class EventsDuringBulk {
  enum Step {
    NONE,
    STOP_FOLLOWING,
    FOLLOW_AGAIN_AND_REFRESH
  }

  private boolean paused;

  /**
   * @param masterHere this node is master of at least one vhid now
   */
  Step bulkStateChanged(BulkState to, boolean masterHere) {
    if (to == BulkState.RECEIVING && !paused && !masterHere) {
      paused = true;
      return Step.STOP_FOLLOWING;
    }
    return to == BulkState.RECEIVING ? Step.NONE : resume();
  }

  /** This node became master of a vhid: its own connections must be followed from now on. */
  Step becameMaster() {
    return resume();
  }

  /** The kernel refused to stop: nothing is paused. */
  void stopRefused() {
    paused = false;
  }

  boolean paused() {
    return paused;
  }

  private Step resume() {
    if (!paused) return Step.NONE;
    paused = false;
    return Step.FOLLOW_AGAIN_AND_REFRESH;
  }
}
