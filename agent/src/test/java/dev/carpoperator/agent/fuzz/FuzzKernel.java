package dev.carpoperator.agent.fuzz;

import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackKernel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A conntrack table in memory, keyed like ctnetlink, for feeding received states through the sync
 * core.
 */
final class FuzzKernel implements ConntrackKernel {
  final Map<ConntrackEntry.Key, ConntrackEntry> table = new LinkedHashMap<>();

  @Override
  public List<ConntrackEntry> dump() {
    return new ArrayList<>(table.values());
  }

  @Override
  public void apply(ConntrackEntry e) {
    table.put(e.key(), e);
  }

  @Override
  public boolean makeLiberal(ConntrackEntry e) {
    return table.containsKey(e.key());
  }

  @Override
  public boolean delete(ConntrackEntry e) {
    return table.remove(e.key()) != null;
  }

  @Override
  public void listen(Listener listener) {
    throw new UnsupportedOperationException("events are driven directly");
  }

  @Override
  public void followNewAndUpdates(boolean follow) {
    throw new UnsupportedOperationException("events are driven directly");
  }

  @Override
  public Stats stats() {
    return new Stats(0, 0, 0, 0, 0);
  }

  @Override
  public void close() {}
}
