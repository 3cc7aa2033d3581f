package dev.carpoperator.agent.sync;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stands in for the kernel table in unit tests of the pure sync core (the real one, ctnetlink, is
 * tested in network namespaces by NetfilterConntrack's tests and the failover test). Behaves like
 * ctnetlink where the core relies on it: keyed by (zone, protocol, original tuple), NAT fixed at
 * creation, updates change only the dynamic fields.
 */
final class InMemoryConntrack implements ConntrackKernel {
  final Map<ConntrackEntry.Key, ConntrackEntry> table = new LinkedHashMap<>();
  int creates;
  int updates;
  int deletes;
  int dumps;

  /** When set, apply() fails like the kernel refusing an entry. */
  boolean refuseWrites;

  @Override
  public List<ConntrackEntry> dump() {
    dumps++;
    return new ArrayList<>(table.values());
  }

  @Override
  public void apply(ConntrackEntry e) {
    if (refuseWrites) throw new ConntrackException("create " + e + ": Invalid argument", 22);
    ConntrackEntry old = table.get(e.key());
    if (old == null) {
      creates++;
      table.put(e.key(), e);
    } else {
      updates++;
      table.put(
          e.key(),
          old.withDynamic(e.status(), e.timeoutSeconds(), e.tcpState())
              .withTcpFlags(e.tcpFlagsOriginal(), e.tcpFlagsReply()));
    }
  }

  @Override
  public boolean makeLiberal(ConntrackEntry e) {
    ConntrackEntry old = table.get(e.key());
    if (old == null) return false;
    int liberal = ConntrackEntry.TCP_FLAG_BE_LIBERAL;
    table.put(
        e.key(), old.withTcpFlags(old.tcpFlagsOriginal() | liberal, old.tcpFlagsReply() | liberal));
    updates++;
    return true;
  }

  @Override
  public boolean delete(ConntrackEntry e) {
    boolean had = table.remove(e.key()) != null;
    if (had) deletes++;
    return had;
  }

  @Override
  public void listen(Listener listener) {
    throw new UnsupportedOperationException("tests call SyncCore.kernelEvent directly");
  }

  @Override
  public void followNewAndUpdates(boolean follow) {
    throw new UnsupportedOperationException("tests call SyncCore.kernelEvent directly");
  }

  @Override
  public Stats stats() {
    return new Stats(0, 0, 0, creates + updates + deletes, 0);
  }

  @Override
  public void close() {}
}
