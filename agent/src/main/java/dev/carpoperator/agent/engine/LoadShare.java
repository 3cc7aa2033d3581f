package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.linux.Balancing;
import java.util.List;

/** The balancing mode and all vhids (carpNodes) of a load-shared address set. */
public record LoadShare(Balancing mode, List<Integer> vhids) {
  public LoadShare {
    vhids = List.copyOf(vhids);
  }
}
