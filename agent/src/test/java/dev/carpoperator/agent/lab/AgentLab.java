package dev.carpoperator.agent.lab;

import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.AgentMain;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Real agents (separate JVMs running {@link AgentMain}) on hosts of a {@link NetnsLab}: one bridge,
 * hosts 192.0.2.11, .12, ... Observed the way an operator would: which host has the virtual address
 * on its NIC, and the agents' JSON log lines.
 */
public final class AgentLab implements AutoCloseable {
  public static final Duration SETTLE = Duration.ofSeconds(20);
  public final NetnsLab lab = NetnsLab.create();
  private final Map<String, LabProcess> agents = new LinkedHashMap<>();
  private final Map<String, String> configs = new LinkedHashMap<>();

  /**
   * Per host: the length of its agent's log when the current agent started (the log is appended to
   * across restarts).
   */
  private final Map<String, Integer> runStart = new LinkedHashMap<>();

  /** Adds hosts named as given, with 192.0.2.(11+i)/24 and 2001:db8::(11+i)/64. */
  public AgentLab hosts(String... names) {
    for (int i = 0; i < names.length; i++)
      lab.addHost(names[i], "192.0.2." + (11 + i) + "/24", "2001:db8::" + (11 + i) + "/64");
    return this;
  }

  /** Writes the agent config for a host and starts it. */
  public LabProcess startAgent(String host, String yaml) {
    return startAgent(host, yaml, List.of());
  }

  /** The same with JVM options (e.g. the image's, with a heap sized for a memory limit). */
  public LabProcess startAgent(String host, String yaml, List<String> jvmArgs) {
    configs.put(host, yaml);
    try {
      Path file = lab.dir().resolve(host + "-agent.yaml");
      // Lab hosts share the machine's /run: each gets its own address record, kept across restarts
      // of its agent.
      String withRecord =
          yaml.contains("runtimeDirectory:")
              ? yaml
              : yaml
                  + (yaml.endsWith("\n") ? "" : "\n")
                  + "runtimeDirectory: "
                  + runtimeDirectory(host)
                  + "\n";
      Files.writeString(file, withRecord);
      LabProcess previous = agents.get(host);
      runStart.put(host, previous == null ? 0 : previous.output().length());
      LabProcess p =
          lab.host(host)
              .startJava(
                  host + "-agent", AgentMain.class.getName(), jvmArgs, "--config", file.toString());
      agents.put(host, p);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Waits until the host's current agent runs its vhids (its first state change since it started,
   * INIT to BACKUP). Tests that expect the preferred node to win without preemption start it first
   * and wait for this: two JVMs started back to back on a loaded machine may come up in either
   * order, and without preemption whoever times out first keeps the address.
   */
  public void awaitStarted(String host, Duration within) {
    awaitRun(host, within, "run its vhids", () -> started(host));
  }

  /**
   * Waits until the host's current agent is ready, as its /-/ready says without needing a metrics
   * port: it runs its vhids (see {@link #awaitStarted}) and, with a {@code sync:} section, its bulk
   * update is no longer pending (the last {@code sync-bulk} line of this run went to DONE or
   * TIMED_OUT). Assert what two agents decide together only once both are ready: before that one of
   * them may not even run yet, and the assertion is a race with JVM start-up.
   */
  public void awaitReady(String host, Duration within) {
    awaitRun(
        host,
        within,
        "be ready (vhids running, no bulk update pending)",
        () -> started(host) && (!configs.get(host).contains("\nsync:") || !bulkPending(host)));
  }

  private boolean started(String host) {
    return currentRun(host)
        .lines()
        .anyMatch(
            l ->
                l.contains("\"event\":\"state-change\"")
                    && (l.contains("\"to\":\"BACKUP\"") || l.contains("\"to\":\"MASTER\"")));
  }

  /** Whether this run's bulk update is pending: none logged yet, or the last not finished. */
  private boolean bulkPending(String host) {
    String last = null;
    for (String l : currentRun(host).lines().toList())
      if (l.contains("\"event\":\"sync-bulk\"")) last = l;
    return last == null
        || !(last.contains("\"to\":\"DONE\"") || last.contains("\"to\":\"TIMED_OUT\""));
  }

  /** What the host's current agent logged since it started (not its predecessors' lines). */
  public String currentRun(String host) {
    String all = agents.get(host).output();
    return all.substring(Math.min(all.length(), runStart.getOrDefault(host, 0)));
  }

  private void awaitRun(
      String host, Duration within, String what, java.util.function.BooleanSupplier done) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!done.getAsBoolean()) {
      if (!agents.get(host).isAlive())
        throw new AssertionError(host + "'s agent exited:\n" + currentRun(host));
      if (System.nanoTime() > deadline)
        throw new AssertionError(
            host + "'s agent did not " + what + " within " + within + ":\n" + currentRun(host));
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted");
      }
    }
  }

  /** Starts the host's agent again with the config it last had. */
  public LabProcess restartAgent(String host) {
    return startAgent(host, configs.get(host));
  }

  public LabProcess agent(String host) {
    return agents.get(host);
  }

  /** The host's runtime directory (its agent's address record) in the lab directory. */
  public Path runtimeDirectory(String host) {
    return lab.dir().resolve(host + "-run");
  }

  /** The standard single-vhid config used by most tests. */
  public static String config(
      String node, int vhid, int advskew, boolean preempt, String password, String... addresses) {
    return """
        node: %s
        preempt: %s
        logFormat: json
        virtualAddresses:
          - vhid: %d
            interface: eth0
            addresses: [%s]
            advbase: 1
            advskew: %d
            password: "%s"
        """
        .formatted(
            node,
            preempt,
            vhid,
            String.join(", ", List.of(addresses).stream().map(a -> "\"" + a + "\"").toList()),
            advskew,
            password);
  }

  /** The Linux-only fast profile: advbase 0, interval advskew/256 s. */
  public static String fastConfig(
      String node, int vhid, int advskew, boolean preempt, String address) {
    return config(node, vhid, advskew, preempt, "secret", address)
        .replace("advbase: 1", "advbase: 0\n    profile: fast");
  }

  /** Hosts whose eth0 currently holds the address (without prefix length). */
  public List<String> holders(String address) {
    List<String> out = new ArrayList<>();
    for (var h : lab.hosts()) {
      String addrs = h.exec("ip", "-o", "addr", "show", "dev", NetnsLab.HOST_IF).stdout();
      if (addrs.contains(" " + address + "/")) out.add(h.name());
    }
    return out;
  }

  /** Waits until exactly {@code expected} holds the address, and nobody else. */
  public void awaitOnlyHolder(String address, String expected, Duration within) {
    try {
      await()
          .atMost(within)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> holders(address), h -> h.equals(List.of(expected)));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          "expected only "
              + expected
              + " to hold "
              + address
              + " but holders are "
              + holders(address)
              + "\n"
              + logTails(),
          e);
    }
  }

  /** The last lines of every agent's output, for failure messages. */
  public String logTails() {
    StringBuilder sb = new StringBuilder();
    agents.forEach(
        (host, p) -> {
          List<String> lines = p.output().lines().toList();
          sb.append("--- agent on ")
              .append(host)
              .append(p.isAlive() ? "" : " (exited)")
              .append('\n');
          lines
              .subList(Math.max(0, lines.size() - 15), lines.size())
              .forEach(l -> sb.append(l).append('\n'));
        });
    return sb.toString();
  }

  /** Number of state-change log lines of a host's agent that went to the given state. */
  public long transitionsTo(String host, String state) {
    return agents
        .get(host)
        .output()
        .lines()
        .filter(
            l -> l.contains("\"event\":\"state-change\"") && l.contains("\"to\":\"" + state + "\""))
        .count();
  }

  /** Kills an agent without letting it bow out (SIGKILL), as a crash would. */
  public void kill(String host) {
    LabProcess p = agents.get(host);
    p.process().destroyForcibly();
    try {
      p.waitFor(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    lab.close();
  }
}
