package dev.carpoperator.agent.actions;

import java.time.Duration;
import java.util.List;

/**
 * One state-change action. The built-in ones (link, address, route) need no shell: they go through
 * iproute2 with fixed argument lists. {@link Command} (standalone only) runs a program without a
 * shell.
 */
public sealed interface Action {
  /** Per-action time limit for the built-ins (ip itself gives up after 5 s). */
  Duration BUILT_IN_TIMEOUT = Duration.ofSeconds(10);

  /** Metric label: link, address, route or command. */
  String kind();

  /** For logs, e.g. "link br0 down". */
  String describe();

  default Duration timeout() {
    return BUILT_IN_TIMEOUT;
  }

  record Link(String name, boolean up) implements Action {
    public String kind() {
      return "link";
    }

    public String describe() {
      return "link " + name + (up ? " up" : " down");
    }
  }

  record Address(String interfaceName, String cidr, boolean present) implements Action {
    public String kind() {
      return "address";
    }

    public String describe() {
      return "address " + cidr + (present ? " add to " : " remove from ") + interfaceName;
    }
  }

  /** {@code via} or {@code interfaceName} may be null, not both. */
  record Route(String destination, String via, String interfaceName, boolean present)
      implements Action {
    public String kind() {
      return "route";
    }

    public String describe() {
      return "route "
          + destination
          + (via == null ? "" : " via " + via)
          + (interfaceName == null ? "" : " dev " + interfaceName)
          + (present ? " add" : " remove");
    }
  }

  record Command(List<String> argv, Duration timeout) implements Action {
    public Command {
      argv = List.copyOf(argv);
    }

    public String kind() {
      return "command";
    }

    public String describe() {
      return "command " + String.join(" ", argv);
    }
  }
}
