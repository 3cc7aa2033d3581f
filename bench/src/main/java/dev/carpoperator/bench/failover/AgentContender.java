package dev.carpoperator.bench.failover;

import dev.carpoperator.agent.AgentMain;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** This project's agent, standalone ({@link AgentMain} with a YAML file), one vhid, preempt off. */
final class AgentContender implements Contender {
  private static final Pattern STATE =
      Pattern.compile("\"event\":\"state-change\".*\"to\":\"([A-Z]+)\"");
  private static final Pattern TIMESTAMP = Pattern.compile("^\\{\"@timestamp\":\"([^\"]+)\"");

  @Override
  public String name() {
    return "agent";
  }

  static String config(String node, Profile profile) {
    String timing = profile == Profile.BSD ? "advbase: 1" : "advbase: 0\n    profile: fast";
    return """
        node: %s
        preempt: false
        logFormat: json
        virtualAddresses:
          - vhid: 1
            interface: eth0
            addresses: ["%s/24"]
            %s
            advskew: %d
            password: "secret"
        """
        .formatted(node, FailoverBench.VIP, timing, profile.advskew());
  }

  @Override
  public StampedProcess start(Node node, Profile profile, Path dir) {
    try {
      Path file = dir.resolve(node.name() + "-agent-" + profile.key + ".yaml");
      Files.writeString(file, config(node.name(), profile));
      // each node its own address record: the lab's hosts share the machine's /run
      List<String> cmd =
          NetnsLab.javaCommand(
              AgentMain.class.getName(),
              List.of(),
              "--config",
              file.toString(),
              "--runtime-dir",
              dir.resolve(node.name() + "-run").toString());
      return StampedProcess.start(
          node.host(), node.name() + "-agent", dir.resolve(node.name() + "-agent.log"), cmd);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public Optional<Role> role(String line) {
    Matcher m = STATE.matcher(line);
    if (!m.find()) return Optional.empty();
    return Optional.of(Role.ofCarpState(m.group(1)));
  }

  @Override
  public Optional<Instant> masterDecision(StampedProcess.Line line) {
    if (role(line.text()).orElse(null) != Role.MASTER) return Optional.empty();
    Matcher m = TIMESTAMP.matcher(line.text());
    return m.find() ? Optional.of(OffsetDateTime.parse(m.group(1)).toInstant()) : Optional.empty();
  }

  @Override
  public String decisionSource() {
    return "the @timestamp of its state-change log line to MASTER (taken when the state machine decides, nanosecond resolution)";
  }

  @Override
  public String describe(Profile profile) {
    return "agent: standalone YAML, vhid 1, "
        + (profile == Profile.BSD
            ? "advbase 1, advskew 0"
            : "advbase 0, profile fast, advskew 26 (adverts every 101.6 ms)")
        + " on both nodes, preempt false";
  }

  @Override
  public String plannedBehaviour() {
    return "agent: on SIGTERM it sends a bow-out advert (advbase 255, advskew 255) and releases the address";
  }
}
