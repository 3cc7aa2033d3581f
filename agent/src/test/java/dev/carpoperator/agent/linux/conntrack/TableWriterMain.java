package dev.carpoperator.agent.linux.conntrack;

import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackKernel;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes TCP entries into the conntrack table of the lab host it runs in (never the machine's own:
 * it refuses the root namespace), as a node's own connections would appear there. Args:
 *
 * <ul>
 *   <li>{@code fill n set}: n entries of set {@code set} (addresses 203.0.113.(1 + 10 set ...)), in
 *       batches; prints {@code FILLED n}.
 *   <li>{@code trickle n set intervalMs}: one entry of set {@code set} every intervalMs, up to n;
 *       prints {@code CREATED epochMillis sourcePort} after each.
 * </ul>
 */
public final class TableWriterMain {
  public static void main(String[] args) throws Exception {
    ConntrackScenarios.refuseRootNamespace();
    int n = Integer.parseInt(args[1]);
    List<ConntrackEntry> entries = ConntrackBench.entries(n, Integer.parseInt(args[2]), false);
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      switch (args[0]) {
        case "fill" -> {
          for (int i = 0; i < n; i += NetfilterConntrack.BATCH_REQUESTS) {
            List<ConntrackKernel.Change> batch = new ArrayList<>();
            for (ConntrackEntry e :
                entries.subList(i, Math.min(n, i + NetfilterConntrack.BATCH_REQUESTS)))
              batch.add(new ConntrackKernel.Change(e, false));
            for (var failure : ct.writeAll(batch)) if (failure != null) throw failure;
          }
          System.out.println("FILLED " + n);
        }
        case "trickle" -> {
          long interval = Long.parseLong(args[3]);
          for (ConntrackEntry e : entries) {
            ct.apply(e);
            System.out.println(
                "CREATED " + System.currentTimeMillis() + " " + e.original().sourcePort());
            Thread.sleep(interval);
          }
        }
        default -> throw new IllegalArgumentException("fill or trickle: " + args[0]);
      }
    }
  }
}
