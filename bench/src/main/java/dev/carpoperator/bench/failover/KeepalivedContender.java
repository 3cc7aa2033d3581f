package dev.carpoperator.bench.failover;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** keepalived (Debian), VRRP only, in the foreground with its own config and pid files. */
final class KeepalivedContender implements Contender {
  @Override
  public String name() {
    return "keepalived";
  }

  /**
   * VRRP's skew time is (256 − priority)/256 of the interval: 254 is the smallest (the agent's
   * advskew 0 at advbase 1), 230 matches advskew 26 of 256.
   */
  static int priority(Profile profile) {
    return profile == Profile.BSD ? 254 : 256 - profile.advskew();
  }

  static String config(String node, Profile profile) {
    return """
        global_defs {
          router_id %s
          vrrp_version %d
        }
        vrrp_instance VI_1 {
          state BACKUP
          nopreempt
          interface eth0
          virtual_router_id 1
          priority %d
          advert_int %s
          virtual_ipaddress {
            %s/24 dev eth0
          }
        }
        """
        .formatted(
            node,
            profile == Profile.BSD ? 2 : 3,
            priority(profile),
            profile == Profile.BSD ? "1" : "0.1",
            FailoverBench.VIP);
  }

  @Override
  public StampedProcess start(Node node, Profile profile, Path dir) {
    try {
      String base = node.name() + "-keepalived";
      Path conf = dir.resolve(base + "-" + profile.key + ".conf");
      Path pid = dir.resolve(base + ".pid");
      Path vrrpPid = dir.resolve(base + "-vrrp.pid");
      Files.writeString(conf, config(node.name(), profile));
      // a pid file left by a killed keepalived could name a live process and stop the next start
      Files.deleteIfExists(pid);
      Files.deleteIfExists(vrrpPid);
      List<String> cmd =
          List.of(
              "keepalived",
              "--dont-fork",
              "--log-console",
              "--log-detail",
              "--vrrp",
              "--dont-respawn",
              "--use-file=" + conf,
              "--pid=" + pid,
              "--vrrp_pid=" + vrrpPid);
      return StampedProcess.start(node.host(), base, dir.resolve(base + ".log"), cmd);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public Optional<Role> role(String line) {
    if (line.contains("Entering MASTER STATE")) return Optional.of(Role.MASTER);
    if (line.contains("Entering BACKUP STATE")) return Optional.of(Role.BACKUP);
    if (line.contains("Entering FAULT STATE")) return Optional.of(Role.OTHER);
    return Optional.empty();
  }

  @Override
  public Optional<Instant> masterDecision(StampedProcess.Line line) {
    return line.text().contains("Entering MASTER STATE")
        ? Optional.of(line.at())
        : Optional.empty();
  }

  @Override
  public String decisionSource() {
    return "the arrival of its \"Entering MASTER STATE\" line on the bench's pipe (its own log timestamps have whole seconds; "
        + "the line is written before the addresses are added, the pipe read adds well under a millisecond)";
  }

  @Override
  public String describe(Profile profile) {
    return "keepalived 2.2.7: vrrp_instance with state BACKUP, nopreempt, virtual_router_id 1, priority "
        + priority(profile)
        + " on both nodes, advert_int "
        + (profile == Profile.BSD ? "1 (vrrp_version 2)" : "0.1 (vrrp_version 3)")
        + ", no authentication, default gratuitous ARP settings; run with -n -l -D -P -R";
  }

  @Override
  public String plannedBehaviour() {
    return "keepalived: on SIGTERM it sends an advert with priority 0 and removes the address; the backup takes over after its skew time";
  }
}
