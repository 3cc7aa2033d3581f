package dev.carpoperator.lab;

import dev.carpoperator.testing.Periodic;
import dev.carpoperator.testing.kube.Helm;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.traffic.StreamWatch;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The torture's Kubernetes variant (docs/torture.md): on a lab where the story has run (the chart
 * installed, the agents run by the kubelets, preempt on), long-lived TCP sessions run through the
 * virtual addresses while a seeded series of Kubernetes faults hits the cluster:
 *
 * <ul>
 *   <li>{@code pod}: a node's agent pod deleted; the DaemonSet makes a new one, the kubelet starts
 *       it;
 *   <li>{@code power}: a node loses power (kubelet, containerd and containers SIGKILLed, links cut)
 *       and boots again;
 *   <li>{@code api}: kube-apiserver and etcd stopped for minutes; the agents keep electing with
 *       what they have. Half of the time the master loses power meanwhile, so only CARP can move
 *       the addresses, and boots once the API is back (its kubelet needs the API to start its
 *       pods);
 *   <li>{@code upgrade}: {@code helm upgrade} changing the agents' resources, which rolls the
 *       operator and then the agent DaemonSet one node at a time.
 * </ul>
 *
 * After each step it waits until the cluster converged (an agent pod ready on every node, each
 * address on one node, the same for both) and every session flows again, then opens a wave of new
 * sessions, which the nodes know only from the state sync. The first steps take each kind once in a
 * seeded order, so that a short run sees them all. A session is interrupted when it reports an
 * error or verifies nothing for longer than the stall limit ({@link StreamWatch}).
 */
final class KubeChaos {
  enum Fault {
    POD,
    POWER,
    API,
    UPGRADE;

    String label() {
      return name().toLowerCase();
    }

    static Fault parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "unknown fault '" + s + "': pod, power, api or upgrade", e);
      }
    }
  }

  record Options(
      long seed,
      Duration chaos,
      int connections,
      int waveConnections,
      Duration apiOutage,
      Duration stallLimit,
      List<Fault> faults) {
    static Options of(long seed, Duration chaos) {
      return new Options(
          seed,
          chaos,
          8,
          2,
          Duration.ofSeconds(90),
          Duration.ofSeconds(30),
          List.of(Fault.values()));
    }

    Options withApiOutage(Duration d) {
      return new Options(seed, chaos, connections, waveConnections, d, stallLimit, faults);
    }

    Options withFaults(List<Fault> f) {
      return new Options(seed, chaos, connections, waveConnections, apiOutage, stallLimit, f);
    }
  }

  /**
   * What a run saw. {@code agentRestarts}: restarts of agent containers that the kubelet counted (a
   * power loss counts one: the kubelet restarts the killed container); {@code operatorRestarts}:
   * the same for the operator's current pod.
   */
  record Report(
      long seed,
      Duration chaos,
      List<String> steps,
      Map<Fault, Integer> stepsByKind,
      int failovers,
      int twoHolderSamples,
      int sessions,
      Map<String, String> interrupted,
      double longestStallSeconds,
      Map<Fault, List<Double>> stallSecondsByKind,
      int agentRestarts,
      int operatorRestarts,
      String abortedBy) {
    String summary() {
      StringBuilder sb = new StringBuilder();
      sb.append("seed ")
          .append(seed)
          .append(", ")
          .append(chaos.toSeconds())
          .append(" s of chaos, ")
          .append(steps.size())
          .append(" steps ")
          .append(stepsByKind)
          .append("\nfailovers (the lan address changed node) ")
          .append(failovers)
          .append(", samples with two holders of an address ")
          .append(twoHolderSamples)
          .append("\nsessions ")
          .append(sessions)
          .append(", interrupted ")
          .append(interrupted.size())
          .append(interrupted.isEmpty() ? "" : " " + interrupted)
          .append(String.format(", longest stall %.1f s", longestStallSeconds))
          .append("\nlongest stall per step, by kind (s): ")
          .append(stallSecondsByKind)
          .append("\nagent container restarts ")
          .append(agentRestarts)
          .append(", operator container restarts ")
          .append(operatorRestarts);
      if (abortedBy != null) sb.append("\nABORTED: ").append(abortedBy);
      return sb.toString();
    }
  }

  /** A session must verify this much after a step to count as flowing again. */
  static final long FLOWING = 4096;

  static final Duration CONVERGE = Duration.ofMinutes(6);
  static final Duration POLL = Duration.ofSeconds(1);

  private final Lab lab;
  private final Options options;
  private final Consumer<String> log;
  private final Random random;
  private final List<StreamWatch> watches = new ArrayList<>();
  private final List<LabProcess> clients = new ArrayList<>();
  private final List<String> steps = new ArrayList<>();
  private final Map<Fault, Integer> stepsByKind = new EnumMap<>(Fault.class);
  private final Map<Fault, List<Double>> stalls = new EnumMap<>(Fault.class);
  private final long startedAt = System.nanoTime();
  private String lanHolder;
  private int failovers;
  private int twoHolderSamples;
  private int upgrades;

  /**
   * The cpu request the latest upgrade asked of the agents: the rollout is done when all have it.
   */
  private String wantedCpu;

  /**
   * Nodes booted in the current step, and when: their agent counts only once a container started
   * since (until the kubelet is back, the API still shows the pod of before the power loss ready).
   */
  private final Map<String, Instant> booted = new LinkedHashMap<>();

  KubeChaos(Lab lab, Options options, Consumer<String> log) {
    this.lab = lab;
    this.options = options;
    this.log = log;
    this.random = new Random(options.seed());
  }

  Report run() {
    log(
        "seed "
            + options.seed()
            + " (rerun with --seed "
            + options.seed()
            + "), "
            + options.chaos().toSeconds()
            + " s of chaos, faults "
            + options.faults().stream().map(Fault::label).toList()
            + ", api outages of "
            + options.apiOutage().toSeconds()
            + " s, "
            + options.connections()
            + " sessions and a wave of "
            + options.waveConnections()
            + " after each step");
    String aborted = null;
    Periodic monitor =
        Periodic.start(
            "kube-chaos-monitor",
            POLL,
            this::sample,
            e -> log("monitor: " + e)); // e.g. a command timed out on a loaded machine
    try {
      awaitConverged(Map.of(), "before the chaos");
      openSessions("sessions", options.connections());
      awaitFlowing(null);
      List<Fault> firstRound = new ArrayList<>(options.faults());
      java.util.Collections.shuffle(firstRound, random);
      long end = System.nanoTime() + options.chaos().toNanos();
      int n = 0;
      while (System.nanoTime() < end || n < firstRound.size()) {
        n++;
        Fault f =
            n <= firstRound.size()
                ? firstRound.get(n - 1)
                : options.faults().get(random.nextInt(options.faults().size()));
        step(n, f);
      }
    } catch (StoryFailure e) {
      aborted = e.getMessage();
      log("ABORTED: " + aborted);
    } finally {
      monitor.close();
    }
    for (StreamWatch w : watches) w.stop();
    Map<String, String> interrupted = new LinkedHashMap<>();
    long longest = 0;
    int sessions = 0;
    for (StreamWatch w : watches) {
      interrupted.putAll(w.interrupted());
      longest = Math.max(longest, w.longestStallMillis());
      sessions += w.connections();
    }
    for (LabProcess c : clients) c.close();
    return new Report(
        options.seed(),
        Duration.ofNanos(System.nanoTime() - startedAt),
        List.copyOf(steps),
        stepsByKind,
        failovers,
        twoHolderSamples,
        sessions,
        interrupted,
        longest / 1000.0,
        stalls,
        agentRestarts(),
        operatorRestarts(),
        aborted);
  }

  private void step(int n, Fault fault) {
    for (StreamWatch w : watches) w.resetStepStall();
    booted.clear();
    Map<String, String> podsBefore = agentPodUids();
    String master = lanHolder();
    String target = pickNode(master);
    Instant t0 = Instant.now();
    String what =
        switch (fault) {
          case POD -> deletePod(target, master);
          case POWER -> powerLoss(target, master);
          case API -> apiOutage(master);
          case UPGRADE -> helmUpgrade();
        };
    // A deleted pod, or every pod after an upgrade, must have been replaced by a new one.
    Map<String, String> mustBeReplaced = new LinkedHashMap<>();
    for (String node : LabNetwork.NODES)
      if (fault == Fault.UPGRADE || (fault == Fault.POD && node.equals(target)))
        mustBeReplaced.put(node, podsBefore.get(node));
    awaitConverged(mustBeReplaced, "step " + n + " (" + what + ")");
    awaitFlowing(what);
    long stepStall = 0;
    for (StreamWatch w : watches) stepStall = Math.max(stepStall, w.stepStallMillis());
    stepsByKind.merge(fault, 1, Integer::sum);
    stalls.computeIfAbsent(fault, k -> new ArrayList<>()).add(stepStall / 1000.0);
    String line =
        String.format(
            "step %d: %s; converged %.1f s after the step began, master %s, sessions ok,"
                + " longest stall %.1f s; failovers so far %d",
            n,
            what,
            Duration.between(t0, Instant.now()).toMillis() / 1000.0,
            lanHolder(),
            stepStall / 1000.0,
            failovers);
    steps.add(line);
    log(line);
    openSessions("wave-" + n, options.waveConnections());
    awaitFlowing("wave " + n);
  }

  /** The master half of the time, else any node. */
  private String pickNode(String master) {
    if (master != null && random.nextBoolean()) return master;
    return LabNetwork.NODES.get(random.nextInt(LabNetwork.NODES.size()));
  }

  private String role(String node, String master) {
    return node.equals(master) ? node + " (master)" : node;
  }

  private String deletePod(String node, String master) {
    Pod pod = lab.agentPod(node).orElseThrow(() -> new StoryFailure("no agent pod on " + node));
    lab.admin.resource(pod).delete();
    return "pod " + role(node, master) + " deleted";
  }

  private String powerLoss(String node, String master) {
    int off = 5 + random.nextInt(26);
    lab.powerOff(node);
    Lab.sleep(off * 1000L);
    boot(node);
    return "power " + role(node, master) + " off " + off + " s";
  }

  private String apiOutage(String master) {
    boolean alsoMaster = master != null && random.nextBoolean();
    long outage = options.apiOutage().toMillis();
    lab.controlPlane.stopApiServer();
    long t0 = System.currentTimeMillis();
    String text = "api down " + options.apiOutage().toSeconds() + " s";
    if (alsoMaster) {
      Lab.sleep(outage / 3);
      String before = lanHolder();
      lab.powerOff(master);
      // Only CARP can move the address now: the new master must take it while the API is away.
      Instant off = Instant.now();
      awaitCondition(
          Duration.ofSeconds(30),
          "a backup to take " + LabNetwork.LAN_VIP + " from " + master + " while the API is down",
          () -> {
            List<String> h = lab.net.holders(LabNetwork.LAN_VIP);
            return h.size() == 1 && !h.contains(master);
          });
      text +=
          String.format(
              ", meanwhile %s lost power (%s took over in %.1f s)",
              role(master, before),
              lanHolder(),
              Duration.between(off, Instant.now()).toMillis() / 1000.0);
    }
    Lab.sleep(Math.max(0, outage - (System.currentTimeMillis() - t0)));
    lab.controlPlane.startApiServer();
    if (alsoMaster) boot(master);
    return text;
  }

  private void boot(String node) {
    booted.put(node, Instant.now().minusSeconds(1)); // the API's times have a resolution of 1 s
    lab.powerOn(node);
  }

  private String helmUpgrade() {
    upgrades++;
    String cpu = (20 + upgrades) + "m";
    lab.helm.ok(
        "upgrade",
        Lab.RELEASE,
        Helm.chart().toString(),
        "--namespace",
        Lab.NAMESPACE,
        "--reuse-values",
        "--set",
        "agent.resources.requests.cpu=" + cpu);
    wantedCpu = cpu;
    return "helm upgrade (agents' cpu request " + cpu + ")";
  }

  /**
   * Waits until an agent pod is ready on every node (a new one where {@code mustBeReplaced} names
   * the old pod's uid, a container started since the boot on a node that lost power; the latest
   * upgrade's resources everywhere) and each address is held by one node, the same for both.
   */
  private void awaitConverged(Map<String, String> mustBeReplaced, String after) {
    awaitCondition(
        CONVERGE,
        "the cluster to converge after " + after,
        () -> {
          for (String node : LabNetwork.NODES) {
            Optional<Pod> p = lab.agentPod(node);
            if (p.isEmpty() || !Lab.ready(p.get())) return false;
            String old = mustBeReplaced.get(node);
            if (old != null && old.equals(p.get().getMetadata().getUid())) return false;
            if (wantedCpu != null && !wantedCpu.equals(cpuRequest(p.get()))) return false;
            Instant boot = booted.get(node);
            if (boot != null && !lab.agentStartedAt(node).map(t -> !t.isBefore(boot)).orElse(false))
              return false;
          }
          List<String> lan = lab.net.holders(LabNetwork.LAN_VIP);
          return lan.size() == 1 && lan.equals(lab.net.holders(LabNetwork.DMZ_VIP));
        });
  }

  private static String cpuRequest(Pod p) {
    var r = p.getSpec().getContainers().getFirst().getResources();
    Quantity q = r == null || r.getRequests() == null ? null : r.getRequests().get("cpu");
    return q == null ? null : q.toString();
  }

  /** Waits until every session verified {@value #FLOWING} more bytes than when this was called. */
  private void awaitFlowing(String after) {
    Map<StreamWatch, TcpStreamsMain.Progress> base = new LinkedHashMap<>();
    for (StreamWatch w : watches) base.put(w, w.poll());
    awaitCondition(
        options.stallLimit().plus(Duration.ofSeconds(30)),
        "every session to flow" + (after == null ? "" : " after " + after),
        () -> {
          boolean all = true;
          for (var e : base.entrySet()) {
            e.getKey().poll();
            all &= e.getKey().flowingSince(e.getValue(), FLOWING);
          }
          return all;
        });
  }

  private void openSessions(String label, int connections) {
    LabProcess c =
        lab.net.client.startJava(
            label,
            TcpStreamsMain.class.getName(),
            List.of("-Xmx48m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
            "client",
            LabNetwork.SERVER,
            String.valueOf(LabNetwork.PORT),
            String.valueOf(connections),
            "1024",
            "100",
            "0");
    clients.add(c);
    synchronized (watches) {
      watches.add(new StreamWatch(label, c, connections, options.stallLimit()));
    }
  }

  /**
   * Samples the holders of the addresses every second (on the nodes' NICs: no API needed) and polls
   * the sessions, so that stalls are seen while the driver waits for something else.
   */
  private void sample() {
    List<String> lan = lab.net.holders(LabNetwork.LAN_VIP);
    List<String> dmz = lab.net.holders(LabNetwork.DMZ_VIP);
    synchronized (this) {
      if (lan.size() > 1 || dmz.size() > 1) twoHolderSamples++;
      if (lan.size() == 1) {
        if (lanHolder != null && !lanHolder.equals(lan.getFirst())) failovers++;
        lanHolder = lan.getFirst();
      }
    }
    List<StreamWatch> ws;
    synchronized (watches) {
      ws = List.copyOf(watches);
    }
    for (StreamWatch w : ws) w.poll();
  }

  private synchronized String lanHolder() {
    List<String> lan = lab.net.holders(LabNetwork.LAN_VIP);
    return lan.size() == 1 ? lan.getFirst() : lanHolder;
  }

  private Map<String, String> agentPodUids() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String n : LabNetwork.NODES)
      lab.agentPod(n).ifPresent(p -> out.put(n, p.getMetadata().getUid()));
    return out;
  }

  private int agentRestarts() {
    if (!lab.controlPlane.apiServerRunning()) return -1;
    int sum = 0;
    for (String n : LabNetwork.NODES) sum += lab.agentPod(n).map(KubeChaos::restarts).orElse(0);
    return sum;
  }

  private int operatorRestarts() {
    if (!lab.controlPlane.apiServerRunning()) return -1;
    return lab
        .admin
        .pods()
        .inNamespace(Lab.NAMESPACE)
        .withLabel("app.kubernetes.io/component", "operator")
        .list()
        .getItems()
        .stream()
        .mapToInt(KubeChaos::restarts)
        .sum();
  }

  private static int restarts(Pod p) {
    List<ContainerStatus> cs = p.getStatus() == null ? null : p.getStatus().getContainerStatuses();
    return cs == null ? 0 : cs.stream().mapToInt(c -> c.getRestartCount()).sum();
  }

  /**
   * {@link Lab#await}, with a failing look (the API server restarting, a command timing out on a
   * loaded machine) counted as "not yet".
   */
  private void awaitCondition(
      Duration within, String what, java.util.function.BooleanSupplier condition) {
    lab.await(
        within,
        what,
        () -> {
          try {
            return condition.getAsBoolean();
          } catch (StoryFailure e) {
            throw e;
          } catch (RuntimeException e) {
            return false;
          }
        });
  }

  private void log(String line) {
    long s = Duration.ofNanos(System.nanoTime() - startedAt).toSeconds();
    log.accept(
        String.format("[k8s-torture %02d:%02d:%02d] %s", s / 3600, s / 60 % 60, s % 60, line));
  }
}
