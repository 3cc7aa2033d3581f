package dev.carpoperator.agent.net;

/**
 * Test helper run inside a lab host: joins the CARP groups, prints JOINED, stays until killed.
 * Args: ifName.
 */
public final class JoinGroupsMain {
  public static void main(String[] args) throws Exception {
    try (MulticastMembership m = MulticastMembership.join(args[0], true, true)) {
      System.out.println("JOINED " + m.keys().size());
      System.out.flush();
      Thread.sleep(600_000);
    }
  }
}
