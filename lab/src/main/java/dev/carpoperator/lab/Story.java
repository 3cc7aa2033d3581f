package dev.carpoperator.lab;

import static dev.carpoperator.lab.Lab.DMZ_VA;
import static dev.carpoperator.lab.Lab.LAN_VA;
import static dev.carpoperator.lab.LabNetwork.LAN_VIP;
import static dev.carpoperator.lab.Printer.bytes;
import static dev.carpoperator.lab.Printer.seconds;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * The lab's scripted story, told on a {@link Printer}: the images are built, a Kubernetes cluster
 * with real nodes comes up, the Helm chart installs the operator, the active/standby example
 * (Mickey and Minnie) is applied to three nodes whose kubelets run the agents, a TCP session runs
 * through the virtual addresses, the master loses power, the session survives on the new master
 * thanks to the state sync, and the node comes back, first without preemption (it stays backup),
 * then with it (it takes its addresses back). Every step waits for what it claims and fails with a
 * {@link StoryFailure} saying what it saw instead; {@link #run} returns what was observed.
 */
final class Story {
  static final Duration ELECTION = Duration.ofSeconds(120);
  static final Duration FAILOVER = Duration.ofSeconds(60);

  /**
   * "Flowing": this many bytes echoed and verified since a given moment (about 1 s of the session's
   * traffic).
   */
  static final long FLOWING = 16 * 1024;

  /** How long the story watches that mickey, back without preemption, stays backup. */
  static final Duration STAYS_BACKUP = Duration.ofSeconds(5);

  /** What the story saw; the CI test asserts on it. */
  record Result(
      String firstMaster,
      String masterAfterCrash,
      Duration failover,
      Duration sessionStall,
      long bytesBeforeCrash,
      long bytesAfterFailover,
      List<String> masterChangedEvents,
      String masterWithoutPreempt,
      Map<String, String> statesWithoutPreempt,
      String masterWithPreempt,
      long bytesAfterPreempt,
      TcpStreamsMain.Progress summary) {}

  private final Lab lab;
  private final Printer out;
  private final Set<String> eventsShown = new HashSet<>();
  private int sessionPort;

  Story(Lab lab, Printer out) {
    this.lab = lab;
    this.out = out;
  }

  Result run() {
    out.step(
        "Building the network: three firewall nodes, a client and a server, each a Linux network namespace");
    lab.createNetwork();
    out.raw(
        """

                  client 192.0.2.10 ─── lan (eth0) ──┬── mickey  .2 ──┬── dmz (eth1) ─── server 198.51.100.10
                  gateway 192.0.2.1                  ├── minnie  .3 ──┤               gateway 198.51.100.1
                                                     └── goofy   .4 ──┘
                                          sync (eth2): 203.0.113.2, .3, .4 (the connection-state sync)
                                          k8s (k8s0):  198.18.0.2, .3, .4 (Kubernetes; the control plane is .1)
        """);
    out.say(
        "Every node routes with the same stateful nftables rules: only connections it knows pass (nf_conntrack_tcp_loose=0),");
    out.say(
        "so a node that takes over can carry an existing session only if the state sync told it about the session.");

    out.step(
        "Building the container images from the jars, with no registry (scripts/build-images.sh --offline)");
    long t0 = System.nanoTime();
    lab.buildImages();
    out.say(
        lab.images.operatorRef()
            + ", "
            + lab.images.agentRef()
            + " and "
            + lab.images.pauseRef()
            + " in "
            + lab.images.dir()
            + " ("
            + seconds(since(t0))
            + "; cached when nothing changed)");

    out.step(
        "Starting Kubernetes: etcd, kube-apiserver, kube-controller-manager and kube-scheduler in namespace 'control', which is a node too");
    t0 = System.nanoTime();
    lab.startCluster();
    out.say(
        "kube-apiserver at "
            + lab.controlPlane.nodesUrl()
            + " (here: "
            + lab.controlPlane.url()
            + "), node 'control' started in "
            + seconds(since(t0)));

    out.step(
        "Making mickey, minnie and goofy Kubernetes nodes: containerd, kubelet and kube-proxy in each namespace");
    t0 = System.nanoTime();
    lab.addFirewallNodes();
    out.say(
        "the images were imported into each node's containerd (nothing is pulled); all nodes Ready in "
            + seconds(since(t0)));
    out.command("kubectl get nodes -o wide", lab.kubectl("get", "nodes", "-o", "wide"));

    out.step(
        "Installing carp-operator with its Helm chart (the images built here; the operator's pod on node 'control')");
    out.command(
        "helm " + String.join(" ", lab.helmInstallArgs()).replace(lab.root + "/", ""),
        lab.helmInstall());
    long installedAt = System.nanoTime();
    lab.awaitOperator(Duration.ofSeconds(120));
    out.say(
        "the operator's Deployment is available "
            + seconds(since(installedAt))
            + " after helm install (leader election on)");
    out.command(
        "kubectl get pods -n " + Lab.NAMESPACE + " -o wide",
        lab.kubectl("get", "pods", "-n", Lab.NAMESPACE, "-o", "wide"));

    out.step(
        "Labelling the firewall nodes for the example's FirewallCluster and applying it (examples/active-standby)");
    out.command(
        "kubectl label node mickey minnie goofy " + Lab.NODE_LABEL + "=" + Lab.CLUSTER,
        lab.labelNodes());
    lab.watchAddresses(row -> out.watch("kubectl get va -w", row));
    out.command(
        "kubectl apply -f examples/active-standby",
        lab.kubectl("apply", "-f", lab.root.resolve("examples/active-standby").toString()));
    out.say(
        "Lab overlay: the example names only mickey and minnie in spec.nodes. goofy, the lab's third node, joins as the last");
    out.say(
        "backup (advskew 200; left out it would get spec.advskew 0 and tie with mickey). The rest is the example as written:");
    out.say(
        "interfaces eth0/eth1, sync on eth2, addresses, preempt: true, and the Secrets' placeholder password and sync key.");
    for (String va : Lab.ADDRESSES) {
      String patch =
          "[{\"op\":\"add\",\"path\":\"/spec/nodes/-\",\"value\":{\"name\":\"goofy\",\"advskew\":200}}]";
      out.command(
          "kubectl patch va " + va + " --type=json -p '" + patch + "'",
          lab.kubectl("patch", "va", va, "--type=json", "-p", patch));
    }

    out.step(
        "The operator made the agent DaemonSet; the kubelets run its pods on the labelled nodes");
    var ds = lab.awaitAgentDaemonSet(Duration.ofSeconds(60));
    var container = ds.getSpec().getTemplate().getSpec().getContainers().getFirst();
    out.say(
        "DaemonSet "
            + Lab.AGENTS_NAMESPACE
            + "/"
            + ds.getMetadata().getName()
            + ": "
            + container.getImage()
            + " "
            + String.join(" ", container.getArgs())
            + ", host network, ServiceAccount "
            + ds.getSpec().getTemplate().getSpec().getServiceAccountName());
    long agentsStarted = System.nanoTime();
    lab.awaitAgentPods(ELECTION);
    out.say(
        "an agent pod is ready on every node "
            + seconds(since(agentsStarted))
            + " after the DaemonSet appeared (ready: CARP runs and");
    out.say(
        "the node has its peers' connection table, the sync's bulk update); they run in namespace "
            + Lab.AGENTS_NAMESPACE
            + ", which the");
    out.say("chart made for them (Pod Security privileged), apart from the operator's");
    out.command(
        "kubectl get pods -n " + Lab.AGENTS_NAMESPACE + " -o wide",
        lab.kubectl("get", "pods", "-n", Lab.AGENTS_NAMESPACE, "-o", "wide"));

    out.step(
        "Election: mickey (advskew 0) becomes master of both addresses, minnie (100) and goofy (200) are backups");
    await(
        ELECTION,
        "mickey master of both addresses, every node reporting",
        () ->
            "mickey".equals(lab.readyMaster(LAN_VA))
                && "mickey".equals(lab.readyMaster(DMZ_VA))
                && Lab.ADDRESSES.stream()
                    .allMatch(va -> lab.nodeStates(va).size() == LabNetwork.NODES.size()));
    out.say("elected " + seconds(since(agentsStarted)) + " after the DaemonSet appeared");
    // Usually "mickey is master"; when minnie's agent started a little earlier, minnie wins the
    // first round and mickey
    // preempts a few milliseconds later ("master moved from minnie to mickey"): both end with
    // mickey master.
    // All three start at once, and for a moment two may both report MASTER: a split brain, which
    // the operator shows in the Degraded condition and not as a move, so the Event names the last
    // single master before mickey, if there was one.
    await(
        Duration.ofSeconds(30),
        "an Event per address announcing mickey as master",
        () -> addressesAnnouncing("mickey", Set.of()).containsAll(List.of(LAN_VA, DMZ_VA)));
    await(
        Duration.ofSeconds(40),
        "the FirewallCluster to count 3 ready agents",
        () ->
            lab.kubectl("get", "fwc", Lab.CLUSTER, "--no-headers")
                .matches("(?s)\\S+\\s+true\\s+3\\s+True.*"));
    out.command("kubectl get fwc", lab.kubectl("get", "fwc"));
    showAddresses();
    showEvents();
    String firstMaster = lab.readyMaster(LAN_VA);

    out.step("Opening a TCP session from the client to the server through the virtual addresses");
    lab.startServer();
    lab.startSession();
    TcpStreamsMain.Progress flowing =
        awaitSession(null, Duration.ofSeconds(30), "the session to start");
    sessionPort = flowing.ports()[0];
    out.say(
        "session "
            + LabNetwork.CLIENT
            + ":"
            + sessionPort
            + " → "
            + LabNetwork.SERVER
            + ":"
            + LabNetwork.PORT
            + " through mickey: "
            + bytes(flowing.verified()[0])
            + " echoed back and checked so far (1 KB every 50 ms)");
    await(
        Duration.ofSeconds(20),
        "the session's state on minnie and goofy",
        () -> lab.net.tracks("minnie", sessionPort) && lab.net.tracks("goofy", sessionPort));
    out.say(
        "its connection-tracking entry, on every node (the backups got it from mickey over eth2, authenticated with the key of");
    out.say("Secret " + Lab.AGENTS_NAMESPACE + "/mickey-minnie-sync):");
    for (String node : LabNetwork.NODES)
      out.say("  " + pad(node, 7) + lab.net.conntrackLine(node, sessionPort));

    out.step(
        "mickey, the master, loses power: its kubelet, containerd and every container are SIGKILLed and its links cut");
    long minnieForwardedBefore = lab.net.counters("minnie").getOrDefault("fwd_established", 0L);
    TcpStreamsMain.Progress beforeCrash = awaitLine(System.currentTimeMillis());
    long minnieVhid1Before = eventCount("minnie: vhid 1 BACKUP -> MASTER");
    long minnieVhid2Before = eventCount("minnie: vhid 2 BACKUP -> MASTER");
    // The election at start may already have moved the master back and forth (three agents start
    // at once, and a backup that has not heard mickey yet preempts goofy): only the crash's count.
    Set<String> changedBeforeCrash = masterChangedUids();
    long killedAt = System.currentTimeMillis();
    lab.powerOff("mickey");
    Follow failover = follow("minnie", killedAt, beforeCrash);
    out.say(
        "minnie holds the addresses "
            + seconds(failover.takeover)
            + " after the crash (CARP: no advert from mickey for"
            + " 3 × advbase + 100/256 s)");
    out.say(
        "the session stalled for about "
            + seconds(failover.stall)
            + " (TCP retransmits) and carries on through minnie: "
            + bytes(beforeCrash.verified()[0])
            + " before the crash, "
            + bytes(failover.last.verified()[0])
            + " now, no error");
    var counters = lab.net.counters("minnie");
    out.say(
        "minnie forwarded "
            + (counters.getOrDefault("fwd_established", 0L) - minnieForwardedBefore)
            + " packets of known connections"
            + " since, and dropped "
            + counters.getOrDefault("drop_invalid", 0L)
            + " as invalid: it knew the session from the sync");
    await(
        Duration.ofSeconds(30),
        "minnie master in status",
        () -> "minnie".equals(lab.readyMaster(LAN_VA)) && "minnie".equals(lab.readyMaster(DMZ_VA)));
    await(
        Duration.ofSeconds(30),
        "an Event per address saying 'master moved from mickey to minnie'",
        () -> masterChangedSince(changedBeforeCrash, "from mickey to minnie").size() >= 2);
    awaitEvents("minnie: vhid 1 BACKUP -> MASTER", minnieVhid1Before + 1);
    awaitEvents("minnie: vhid 2 BACKUP -> MASTER", minnieVhid2Before + 1);
    showAddresses();
    showEvents();
    List<String> masterChanged = masterChangedSince(changedBeforeCrash, "from mickey to minnie");

    out.step(
        "Bringing mickey back without preemption: it rejoins as a backup and minnie stays master");
    String off = "{\"spec\":{\"preempt\":false}}";
    out.command(
        "kubectl patch fwc " + Lab.CLUSTER + " --type=merge -p '" + off + "'",
        lab.kubectl("patch", "fwc", Lab.CLUSTER, "--type=merge", "-p", off));
    await(
        Duration.ofSeconds(30),
        "minnie and goofy to apply preempt: false",
        () ->
            List.of("minnie", "goofy").stream()
                .allMatch(
                    n ->
                        lab.agentLog(n)
                            .lines()
                            .anyMatch(
                                l ->
                                    l.contains("\"event\":\"reconfigure\"")
                                        && l.contains("\"preempt\":false"))));
    out.say(
        "minnie and goofy applied it live, without a failover (kubectl logs shows their reconfigure events)");
    java.time.Instant bootedAt =
        java.time.Instant.now().minusSeconds(1); // pod times have a resolution of a second
    lab.powerOn("mickey");
    out.say(
        "mickey boots (no virtual address, empty connection table): containerd, kubelet and kube-proxy start, the kubelet");
    out.say("restarts the agent's pod");
    await(
        FAILOVER,
        "the agent container on mickey to run again",
        () -> lab.agentStartedAt("mickey").map(t -> !t.isBefore(bootedAt)).orElse(false));
    await(
        FAILOVER,
        "mickey back as backup of both addresses",
        () ->
            Lab.ADDRESSES.stream()
                .allMatch(
                    va ->
                        "BACKUP".equals(lab.nodeStates(va).get("mickey"))
                            && "minnie".equals(lab.readyMaster(va))));
    await(Duration.ofSeconds(40), "mickey's bulk update", () -> bulkDone(lab.agentLog("mickey")));
    out.say(
        "mickey reports BACKUP and has received the connection table from its peers (bulk update): "
            + lab.net.conntrackLine("mickey", sessionPort));
    long holdUntil = System.nanoTime() + STAYS_BACKUP.toNanos();
    while (System.nanoTime() < holdUntil) {
      if (!List.of("minnie").equals(lab.net.holders(LAN_VIP)))
        throw new StoryFailure(
            "without preemption minnie should keep "
                + LAN_VIP
                + ", but it is on "
                + lab.net.holders(LAN_VIP)
                + "\n"
                + diagnostics());
      Lab.sleep(500);
    }
    String masterWithoutPreempt = lab.readyMaster(LAN_VA);
    Map<String, String> statesWithoutPreempt = lab.nodeStates(LAN_VA);
    out.say(
        seconds(STAYS_BACKUP)
            + " later minnie is still master: mickey advertises faster but does not preempt");
    showAddresses();

    out.step("Preemption on again: mickey, the preferred node, takes its addresses back");
    String on = "{\"spec\":{\"preempt\":true}}";
    TcpStreamsMain.Progress beforePreempt = awaitLine(System.currentTimeMillis());
    Set<String> changedBeforePreempt = masterChangedUids();
    long preemptsBefore = eventCount("(preempt)");
    long preemptAt = System.currentTimeMillis();
    out.command(
        "kubectl patch fwc " + Lab.CLUSTER + " --type=merge -p '" + on + "'",
        lab.kubectl("patch", "fwc", Lab.CLUSTER, "--type=merge", "-p", on));
    Follow back = follow("mickey", preemptAt, beforePreempt);
    out.say(
        "mickey is master again "
            + seconds(back.takeover)
            + " after the patch; the session moved with it ("
            + (back.stall.isZero() ? "no visible pause" : "a pause of about " + seconds(back.stall))
            + "), no error: "
            + bytes(back.last.verified()[0])
            + " so far");
    await(
        Duration.ofSeconds(30),
        "mickey master in status",
        () -> "mickey".equals(lab.readyMaster(LAN_VA)) && "mickey".equals(lab.readyMaster(DMZ_VA)));
    await(
        Duration.ofSeconds(30),
        "an Event per address saying the master moved to mickey",
        () ->
            addressesAnnouncing("mickey", changedBeforePreempt)
                .containsAll(List.of(LAN_VA, DMZ_VA)));
    awaitEvents("(preempt)", preemptsBefore + 2);
    showAddresses();
    showEvents();
    String masterWithPreempt = lab.readyMaster(LAN_VA);

    out.step("Ending the session");
    TcpStreamsMain.Progress summary = lab.stopSession();
    if (!summary.failed().isEmpty() || !summary.drained()[0]) {
      throw new StoryFailure(
          "the session ended with a problem: " + summary.describe() + "\n" + diagnostics());
    }
    out.say(
        "one TCP session, "
            + bytes(summary.verified()[0])
            + " sent, echoed and checked byte by byte, through two changes of master:"
            + " no reset, no byte lost");
    lab.stopWatch();
    loadBalancerService();

    return new Result(
        firstMaster,
        "minnie",
        failover.takeover,
        failover.stall,
        beforeCrash.verified()[0],
        failover.last.verified()[0],
        masterChanged,
        masterWithoutPreempt,
        statesWithoutPreempt,
        masterWithPreempt,
        back.last.verified()[0],
        summary);
  }

  /**
   * The last part: a LoadBalancer Service on an address of a pool, HTTP through it, and the request
   * path moving to minnie while mickey is out of the cluster and back. Left in place for {@code
   * --keep}.
   */
  private void loadBalancerService() {
    out.step(
        "A LoadBalancer Service (examples/load-balancer): an address from the AddressPool, kube-proxy sends the requests on");
    out.command(
        "kubectl apply -f examples/load-balancer",
        lab.kubectl("apply", "-f", lab.root.resolve("examples/load-balancer").toString()));
    await(
        Duration.ofMinutes(2),
        "shop/web's EXTERNAL-IP and an HTTP answer through it",
        () -> {
          String ip = lab.serviceIngress("shop", "web");
          return ip != null && lab.httpFromClient(ip).contains("hello from");
        });
    String ip = lab.serviceIngress("shop", "web");
    out.command("kubectl get svc -n shop", lab.kubectl("get", "svc", "-n", "shop"));
    out.command("kubectl get cpool", lab.kubectl("get", "cpool"));
    out.say(
        "GET http://"
            + ip
            + "/ from the client, through "
            + String.join(",", lab.net.holders(ip))
            + " (the master of the Service's VirtualAddress): "
            + lastLine(lab.httpFromClient(ip)));

    out.step(
        "mickey leaves the FirewallCluster (its label removed): minnie takes the Service's address, and requests go through minnie");
    out.command(
        "kubectl label node mickey " + Lab.CLUSTER_LABEL + "-",
        lab.kubectl("label", "node", "mickey", Lab.CLUSTER_LABEL + "-"));
    await(
        Duration.ofSeconds(60),
        "minnie holding " + ip + " and answering",
        () ->
            lab.net.holders(ip).equals(List.of("minnie"))
                && lab.httpFromClient(ip).contains("hello from"));
    out.say("GET http://" + ip + "/ through minnie: " + lastLine(lab.httpFromClient(ip)));
    out.command(
        "kubectl label node mickey " + Lab.CLUSTER_LABEL + "=" + Lab.CLUSTER,
        lab.kubectl("label", "node", "mickey", Lab.CLUSTER_LABEL + "=" + Lab.CLUSTER));
    await(
        Duration.ofMinutes(2),
        "mickey's agent back, holding " + ip + " again (preempt)",
        () ->
            lab.agentPod("mickey").map(Lab::ready).orElse(false)
                && lab.net.holders(ip).equals(List.of("mickey"))
                && lab.httpFromClient(ip).contains("hello from"));
    out.say("mickey is back and holds " + ip + " again: " + lastLine(lab.httpFromClient(ip)));
  }

  private static String lastLine(String text) {
    List<String> lines = text.strip().lines().toList();
    return lines.isEmpty() ? "(no answer)" : lines.getLast();
  }

  /**
   * What {@link #follow} saw: when {@code node} held both VIPs, how long the session made no
   * progress, its last line.
   */
  private record Follow(Duration takeover, Duration stall, TcpStreamsMain.Progress last) {}

  /**
   * Prints the session's progress (one line a second) and the lan VIP's holder until {@code node}
   * holds both addresses and the session has moved {@link #FLOWING} bytes since; fails when the
   * session reports an error or when that does not happen within {@link #FAILOVER}. The stall is
   * the time between progress lines that show no new byte.
   */
  private Follow follow(String node, long sinceMillis, TcpStreamsMain.Progress before) {
    long deadline = System.currentTimeMillis() + FAILOVER.toMillis();
    Duration takeover = null;
    long stallMillis = 0;
    TcpStreamsMain.Progress prev = before;
    TcpStreamsMain.Progress afterTakeover = null;
    while (true) {
      List<String> holders = lab.net.holders(LAN_VIP);
      if (takeover == null
          && holders.equals(List.of(node))
          && lab.net.holders(LabNetwork.DMZ_VIP).equals(List.of(node))) {
        takeover = Duration.ofMillis(System.currentTimeMillis() - sinceMillis);
      }
      TcpStreamsMain.Progress p = lab.session();
      if (p != null && p.at() > prev.at()) {
        if (!p.failed().isEmpty())
          throw new StoryFailure("the session failed: " + p.describe() + "\n" + diagnostics());
        long delta = p.verified()[0] - prev.verified()[0];
        if (delta == 0) stallMillis += p.at() - prev.at();
        out.say(
            String.format(
                "session: %-9s verified (+%s)   %s on %s",
                bytes(p.verified()[0]),
                bytes(delta),
                LAN_VIP,
                holders.isEmpty() ? "no node" : String.join(", ", holders)));
        if (takeover != null && afterTakeover == null) afterTakeover = p;
        if (afterTakeover != null && p.verified()[0] - afterTakeover.verified()[0] >= FLOWING) {
          return new Follow(takeover, Duration.ofMillis(stallMillis), p);
        }
        prev = p;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new StoryFailure(
            node
                + " did not take over with the session flowing within "
                + seconds(FAILOVER)
                + " (VIP on "
                + holders
                + ", session "
                + (p == null ? "silent" : p.describe())
                + ")\n"
                + diagnostics());
      }
      Lab.sleep(200);
    }
  }

  /**
   * Waits for the session to have moved {@link #FLOWING} bytes after {@code since} (null: since it
   * started).
   */
  private TcpStreamsMain.Progress awaitSession(
      TcpStreamsMain.Progress since, Duration within, String what) {
    long base = since == null ? 0 : since.verified()[0];
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      TcpStreamsMain.Progress p = lab.session();
      if (p != null && !p.failed().isEmpty())
        throw new StoryFailure(
            what + ": the session failed: " + p.describe() + "\n" + diagnostics());
      if (p != null && p.verified()[0] - base >= FLOWING) return p;
      Lab.sleep(200);
    }
    throw new StoryFailure(what + ": no traffic within " + seconds(within) + "\n" + diagnostics());
  }

  /** The first progress line of the session printed after {@code epochMillis}. */
  private TcpStreamsMain.Progress awaitLine(long epochMillis) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      TcpStreamsMain.Progress p = lab.session();
      if (p != null && p.at() > epochMillis) return p;
      Lab.sleep(100);
    }
    throw new StoryFailure("the session client printed nothing for 10 s\n" + diagnostics());
  }

  private void await(Duration within, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline)
        throw new StoryFailure("waited " + seconds(within) + " for " + what + "\n" + diagnostics());
      Lab.sleep(250);
    }
  }

  private static boolean bulkDone(String agentLog) {
    return agentLog
        .lines()
        .anyMatch(
            l ->
                l.contains("\"event\":\"sync-bulk\"")
                    && (l.contains("\"to\":\"DONE\"") || l.contains("\"to\":\"TIMED_OUT\"")));
  }

  /**
   * Waits until {@code count} Events of the addresses have a message containing {@code fragment}.
   */
  private void awaitEvents(String fragment, long count) {
    await(
        Duration.ofSeconds(30),
        count + " Event(s) saying '" + fragment + "'",
        () -> eventCount(fragment) >= count);
  }

  private long eventCount(String fragment) {
    return lab.admin.v1().events().inNamespace("default").list().getItems().stream()
        .filter(e -> e.getMessage() != null && e.getMessage().contains(fragment))
        .count();
  }

  /**
   * The addresses with an Event, other than those in {@code before} (uids), that names {@code node}
   * alone as the new master: "node is master" or "master moved from ... to node".
   */
  private Set<String> addressesAnnouncing(String node, Set<String> before) {
    java.util.regex.Pattern p =
        java.util.regex.Pattern.compile(
            "(" + node + " is master|master moved from \\S+ to " + node + ")");
    return lab.admin.v1().events().inNamespace("default").list().getItems().stream()
        .filter(
            e ->
                !before.contains(e.getMetadata().getUid())
                    && e.getMessage() != null
                    && p.matcher(e.getMessage()).matches())
        .map(e -> e.getInvolvedObject().getName())
        .collect(java.util.stream.Collectors.toSet());
  }

  private Set<String> masterChangedUids() {
    return lab.admin.v1().events().inNamespace("default").list().getItems().stream()
        .filter(e -> "MasterChanged".equals(e.getReason()))
        .map(e -> e.getMetadata().getUid())
        .collect(java.util.stream.Collectors.toSet());
  }

  /** The MasterChanged Events saying {@code fromTo} that are not among {@code before}. */
  private List<String> masterChangedSince(Set<String> before, String fromTo) {
    return lab.admin.v1().events().inNamespace("default").list().getItems().stream()
        .filter(
            e ->
                "MasterChanged".equals(e.getReason())
                    && !before.contains(e.getMetadata().getUid())
                    && e.getMessage() != null
                    && e.getMessage().contains(fromTo))
        .map(e -> e.getInvolvedObject().getName() + ": " + e.getMessage())
        .sorted()
        .toList();
  }

  private void showAddresses() {
    out.command("kubectl get va", lab.kubectl("get", "va"));
    for (String va : Lab.ADDRESSES) {
      out.say(
          "  "
              + va
              + " per node (status.nodes): "
              + lab.nodeStates(va).entrySet().stream()
                  .map(
                      e ->
                          e.getKey()
                              + " "
                              + e.getValue()
                              + (lab.net.isOff(e.getKey()) ? " (its last report: it is down)" : ""))
                  .collect(Collectors.joining(", ")));
    }
  }

  /**
   * The VirtualAddresses' Events not shown yet (kubectl's columns; LAST SEEN aside, a repeated
   * Event is not new).
   */
  private void showEvents() {
    String all =
        lab.kubectl(
            "get",
            "events",
            "--field-selector",
            "involvedObject.kind=VirtualAddress",
            "--sort-by=.metadata.creationTimestamp");
    List<String> lines = all.lines().toList();
    if (lines.isEmpty()) return;
    StringBuilder fresh = new StringBuilder(lines.getFirst()).append('\n');
    int shown = 0;
    for (String l : lines.subList(1, lines.size())) {
      String key = l.replaceFirst("^\\S+\\s+", "");
      if (eventsShown.add(key)) {
        fresh.append(l).append('\n');
        shown++;
      }
    }
    if (shown > 0)
      out.command(
          "kubectl get events --field-selector involvedObject.kind=VirtualAddress   (new ones)",
          fresh.toString());
  }

  /**
   * What an operator would look at when a step fails: statuses, VIP holders, the pods' and the
   * session's last lines.
   */
  String diagnostics() {
    StringBuilder sb = new StringBuilder("--- diagnostics\n");
    try {
      sb.append(lab.kubectl("get", "va", "-o", "wide"));
      for (String va : Lab.ADDRESSES)
        sb.append(va).append(" nodes: ").append(lab.nodeStates(va)).append('\n');
      sb.append("lan VIP on ")
          .append(lab.net.holders(LAN_VIP))
          .append(", dmz VIP on ")
          .append(lab.net.holders(LabNetwork.DMZ_VIP))
          .append('\n');
      for (String node : LabNetwork.NODES)
        sb.append(node).append(" nft counters ").append(lab.net.counters(node)).append('\n');
    } catch (RuntimeException e) {
      sb.append("(status unavailable: ").append(e.getMessage()).append(")\n");
    }
    for (String node : LabNetwork.NODES) {
      if (lab.cluster == null || lab.net.isOff(node)) continue;
      List<String> lines = lab.agentLog(node).lines().toList();
      sb.append("--- kubectl logs of the agent on ")
          .append(node)
          .append('\n')
          .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 12), lines.size())))
          .append('\n');
    }
    if (lab.cluster != null) sb.append(lab.cluster.diagnostics());
    if (lab.client != null) sb.append(tail(lab.client, 5));
    return sb.toString();
  }

  private static String tail(LabProcess p, int n) {
    List<String> lines = p.output().lines().toList();
    return "--- "
        + p.host()
        + " "
        + p.label()
        + (p.isAlive() ? "" : " (exited)")
        + ", "
        + p.log()
        + "\n"
        + String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()))
        + "\n";
  }

  private static Duration since(long nanos) {
    return Duration.ofNanos(System.nanoTime() - nanos);
  }

  private static String pad(String s, int width) {
    return s.length() >= width ? s + " " : s + " ".repeat(width - s.length());
  }
}
