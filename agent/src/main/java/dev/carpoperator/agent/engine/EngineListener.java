package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.carp.CarpState;
import java.time.Instant;

/**
 * What the engine tells the rest of the agent (status reporting, state-change actions,
 * notifications). Called on the engine's loop thread: implementations must return quickly and hand
 * slow work (API calls, commands, HTTP) to their own threads, so that nothing outside the election
 * can delay it.
 */
public interface EngineListener {
  /** A vhid changed state; {@code reason} is the stable code, e.g. "master-down-timeout". */
  record StateChange(
      String node,
      String interfaceName,
      int vhid,
      CarpState from,
      CarpState to,
      String reason,
      int advskew,
      int demotion,
      Instant at) {}

  /**
   * Called once in {@link CarpEngine#start()}, after the NICs are open and before any vhid starts,
   * so before the first advert: the place for start-up actions such as holding a bridge down until
   * the election has decided. May block (it runs before the election starts).
   */
  default void beforeFirstAdvert() {}

  default void stateChanged(StateChange change) {}

  /**
   * A vhid stayed MASTER but another node may have been master meanwhile (this process was not
   * running, or a less preferred master advertised): the traffic went through that node, as before
   * a takeover. The addresses are being announced again.
   */
  default void reclaimed(String interfaceName, int vhid) {}

  /**
   * A configured vhid is not run: {@code reason} is a stable code (e.g. {@link
   * CarpEngine#ADDRESS_IS_NODE_ADDRESS}), {@code message} says what to fix. Called again each time
   * the vhid is tried and refused again.
   */
  default void vhidRefused(String interfaceName, int vhid, String reason, String message) {}

  /**
   * The demotion this node advertises changed (start-up done, a link down or up, maintenance, the
   * sync's bulk update), whether or not any state changed with it. Called on the engine's loop.
   */
  default void demotionChanged(int advertised) {}
}
