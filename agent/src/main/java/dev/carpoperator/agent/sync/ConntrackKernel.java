package dev.carpoperator.agent.sync;

import java.util.List;

/**
 * The kernel's connection-tracking table, as the sync needs it: a full dump (bulk updates), the
 * stream of changes (new, update, destroy) and writes of states received from peers. Implemented
 * over ctnetlink by {@code linux.conntrack.NetfilterConntrack}; tests of the sync core use an
 * in-memory table.
 *
 * <p>Events caused by this object's own writes are not delivered: the peer already has those
 * states, and echoing them back would loop (conntrackd filters its own changes the same way, by
 * netlink port id).
 */
public interface ConntrackKernel extends AutoCloseable {

  /**
   * Every entry in this network namespace's table (all zones). Throws {@link ConntrackException} on
   * failure. May run on another thread than the writes, at the same time (the sync engine reads its
   * periodic dumps apart from its loop).
   */
  List<ConntrackEntry> dump();

  /**
   * Creates the entry, or updates it when one with the same {@link ConntrackEntry#key()} exists
   * (status, timeout, TCP state; tuples and NAT cannot change on an existing entry). NAT is set up
   * from {@code reply} when it is not the inverse of {@code original}. Throws {@link
   * ConntrackException} with the kernel's reason on failure.
   */
  void apply(ConntrackEntry entry);

  /** One change of {@link #writeAll}: apply the entry, or delete it. */
  record Change(ConntrackEntry entry, boolean delete) {}

  /**
   * Carries out the changes in order, each with the outcome {@link #apply} or {@link #delete} would
   * have had (a delete of a missing entry is no failure); an implementation may send them to the
   * kernel together. Returns, per change, null or its failure.
   */
  default List<ConntrackException> writeAll(List<Change> changes) {
    List<ConntrackException> out = new java.util.ArrayList<>(changes.size());
    for (Change c : changes) {
      try {
        if (c.delete()) delete(c.entry());
        else apply(c.entry());
        out.add(null);
      } catch (ConntrackException e) {
        out.add(e);
      }
    }
    return out;
  }

  /**
   * Sets BE_LIBERAL on both directions of the TCP entry with this key and changes nothing else (not
   * its state, timeout or status, which the kernel may have moved since the entry was read): the
   * kernel stops checking its TCP windows. False when there was no such entry. Throws {@link
   * ConntrackException} on other failures.
   */
  boolean makeLiberal(ConntrackEntry entry);

  /**
   * Deletes the entry with this key; false when there was none. Throws {@link ConntrackException}
   * on other failures.
   */
  boolean delete(ConntrackEntry entry);

  /**
   * Starts delivering the kernel's change events to {@code listener} on a dedicated thread. May be
   * called once. A listener exception is logged and counted, never ends the stream.
   */
  void listen(Listener listener);

  /**
   * Stops ({@code false}) or resumes delivering NEW and UPDATE events to the listener; DESTROY
   * events go on. While nobody listens for them the kernel does not build them, which makes writes
   * cheaper (the bulk update, docs/state-sync.md). What changed meanwhile is found by the next
   * dump. Throws {@link ConntrackException} when the kernel refuses.
   */
  void followNewAndUpdates(boolean follow);

  Stats stats();

  @Override
  void close();

  enum EventType {
    NEW,
    UPDATE,
    DESTROY
  }

  interface Listener {
    void event(EventType type, ConntrackEntry entry);

    /**
     * The kernel dropped events (netlink receive buffer overrun, ENOBUFS): a resync by dump is
     * needed.
     */
    default void overrun() {}
  }

  /**
   * @param events events delivered to the listener
   * @param ownEventsIgnored events caused by our own writes, not delivered
   * @param overruns ENOBUFS seen on the event socket
   * @param writes successful apply/delete calls
   * @param writeErrors failed apply/delete calls
   */
  record Stats(long events, long ownEventsIgnored, long overruns, long writes, long writeErrors) {}
}
