package dev.carpoperator.agent.sync;

import java.util.List;

/**
 * What a node that becomes master must loosen in its own conntrack table. Linux reports nothing
 * about an established connection while its packets flow, so while another node forwarded them,
 * this node's entries of connections it had tracked itself kept the TCP windows of the moment it
 * stopped seeing them. Taking over with those, the kernel drops the first packets as out of window
 * ("SEQ is over upper bound") and the sessions stall for good: a lan link cut and restored, or a
 * frozen master thawed, then preempting (docs/torture.md). Entries written from a peer's state are
 * BE_LIBERAL already (as conntrackd writes them); setting it on the node's own TCP entries at
 * takeover lets the kernel relearn their windows from the traffic, as it does for the peers'.
 * OpenBSD does not need this: its pfsync sends an update with the windows on every packet.
 */
public final class TakeoverWindows {
  private TakeoverWindows() {}

  /** The TCP entries of the table without BE_LIBERAL in one of the directions. */
  public static List<ConntrackEntry> toLoosen(List<ConntrackEntry> table) {
    int liberal = ConntrackEntry.TCP_FLAG_BE_LIBERAL;
    return table.stream()
        .filter(ConntrackEntry::isTcp)
        .filter(e -> (e.tcpFlagsOriginal() & e.tcpFlagsReply() & liberal) == 0)
        .toList();
  }
}
