package dev.carpoperator.bench.failover;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** ucarp (Debian), which moves the address only through its up and down scripts. */
final class UcarpContender implements Contender {
  /**
   * ucarp prints local time with microseconds: {@code 2026-11-24T23:58:55.341487: [WARNING]
   * Switching to state: MASTER}.
   */
  private static final Pattern STATE =
      Pattern.compile("^(\\S+): \\[\\w+\\] Switching to state: (\\w+)");

  @Override
  public String name() {
    return "ucarp";
  }

  @Override
  public boolean supports(Profile profile) {
    return profile == Profile.BSD;
  }

  @Override
  public String unsupportedReason(Profile profile) {
    return "ucarp has no sub-second profile: --advbase is whole seconds; it accepts 0, but its master-down time is "
        + "advbase × deadratio + advskew/256 s, so at advbase 0 a backup times out after one advert interval "
        + "(see the stability check below)";
  }

  static List<String> command(Contender.Node node, Profile profile, Path up, Path down) {
    int advbase = profile == Profile.BSD ? 1 : 0;
    return List.of(
        "ucarp",
        "--interface=eth0",
        "--srcip=" + node.ip(),
        "--vhid=1",
        "--pass=secret",
        "--addr=" + FailoverBench.VIP,
        "--advbase=" + advbase,
        "--advskew=" + profile.advskew(),
        "--upscript=" + up,
        "--downscript=" + down,
        "--shutdown");
  }

  @Override
  public StampedProcess start(Node node, Profile profile, Path dir) {
    Path[] scripts = writeScripts(dir);
    return StampedProcess.start(
        node.host(),
        node.name() + "-ucarp",
        dir.resolve(node.name() + "-ucarp.log"),
        command(node, profile, scripts[0], scripts[1]));
  }

  /**
   * The up- and down-scripts: ucarp runs them with the interface and the address; it never moves
   * addresses itself.
   */
  static Path[] writeScripts(Path dir) {
    try {
      Path up = dir.resolve("ucarp-up.sh");
      Path down = dir.resolve("ucarp-down.sh");
      Files.writeString(up, "#!/bin/sh\nexec ip addr add \"$2\"/24 dev \"$1\"\n");
      Files.writeString(down, "#!/bin/sh\nexec ip addr del \"$2\"/24 dev \"$1\" 2>/dev/null\n");
      for (Path p : List.of(up, down))
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
      return new Path[] {up, down};
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public Optional<Role> role(String line) {
    Matcher m = STATE.matcher(line);
    if (!m.find()) return Optional.empty();
    return Optional.of(Role.ofCarpState(m.group(2)));
  }

  @Override
  public Optional<Instant> masterDecision(StampedProcess.Line line) {
    Matcher m = STATE.matcher(line.text());
    if (!m.find() || !m.group(2).equals("MASTER")) return Optional.empty();
    return Optional.of(LocalDateTime.parse(m.group(1)).atZone(ZoneId.systemDefault()).toInstant());
  }

  @Override
  public String decisionSource() {
    return "its own log line \"Switching to state: MASTER\" (microsecond timestamp; logged just before it runs the up-script)";
  }

  @Override
  public String describe(Profile profile) {
    return "ucarp 1.5.2: --vhid=1 --advbase=1 --advskew=0 --pass --shutdown, no --preempt, up/down scripts running ip addr add/del";
  }

  @Override
  public String plannedBehaviour() {
    return "ucarp: on SIGTERM (with --shutdown) it runs its down-script and exits without an advert, so the backup waits for its master-down time";
  }
}
