package dev.carpoperator.bench.failover;

import dev.carpoperator.testing.netns.NetnsLab;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * One implementation under test (this agent, ucarp, keepalived): how to start it and how to read
 * its output.
 */
interface Contender {
  /** What a state line of the daemon's output says it became. */
  enum Role {
    MASTER,
    BACKUP,
    OTHER;

    /** A CARP state name as the agent and ucarp log it ("MASTER", "BACKUP", "INIT"). */
    static Role ofCarpState(String state) {
      return switch (state) {
        case "MASTER" -> MASTER;
        case "BACKUP" -> BACKUP;
        default -> OTHER;
      };
    }
  }

  /** A router node of the lab: its host and its own address. */
  record Node(NetnsLab.Host host, String ip) {
    String name() {
      return host.name();
    }
  }

  String name();

  /** Whether this implementation can run the profile; when not, {@link #unsupportedReason}. */
  default boolean supports(Profile profile) {
    return true;
  }

  default String unsupportedReason(Profile profile) {
    return "";
  }

  /**
   * Starts the daemon on {@code node} with the profile's settings; {@code dir} holds configs and
   * logs.
   */
  StampedProcess start(Node node, Profile profile, Path dir);

  /** The role a state-change line announces, or empty for other lines. */
  Optional<Role> role(String line);

  /** When {@code line} says the daemon became master: the time of that decision. */
  Optional<Instant> masterDecision(StampedProcess.Line line);

  /** Where {@link #masterDecision} takes its time from, for the notes. */
  String decisionSource();

  /** The exact settings used, for the notes. */
  String describe(Profile profile);

  /** What the daemon does on SIGTERM, for the notes. */
  String plannedBehaviour();
}
