package dev.carpoperator.operator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.AgentMain;
import dev.carpoperator.api.v1alpha1.CarpApi;
import dev.carpoperator.api.v1alpha1.FirewallCluster;
import dev.carpoperator.api.v1alpha1.VirtualAddress;
import dev.carpoperator.operator.OperatorMain;
import dev.carpoperator.operator.OperatorSettings;
import dev.carpoperator.testing.kube.AgentPods;
import dev.carpoperator.testing.kube.ControlPlane;
import dev.carpoperator.testing.kube.ControlPlaneBinaries;
import dev.carpoperator.testing.kube.Crds;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The whole product on one machine: the active/standby example (examples/active-standby) applied to
 * a real API server, the operator in-process, and a real agent (AgentMain --kubernetes, as the
 * DaemonSet runs it) for each of the nodes mickey and minnie, each a network namespace on one
 * bridge, authenticating with the carp-agent ServiceAccount. Only the kubelet is replaced: {@link
 * AgentPods} runs the operator's DaemonSet container (its args and env) on each node. A stand-in on
 * purpose: this test's subject is the agent's and the operator's behaviour against the API server
 * (status, Events, an API outage cut at will through the {@code ApiBridge}, split brain), not the
 * pod; the product as pods on real kubelets, installed by helm, is tested by the lab module's
 * LabStoryTest.
 *
 * <p>The agents first start with a {@code spec.sync} whose key Secret does not exist (the sync does
 * not start, CARP runs regardless); the last test creates the Secret and restarts them, as a
 * rollout restart would.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentsOnRealApiServerTest {
  static final String VA = "mickey-minnie-lan";
  static final String VIP = "192.0.2.1";
  static final Duration WAIT = Duration.ofSeconds(40);

  /**
   * The sync key Secret the test creates (in the agents' own namespace), under a non-default key
   * name.
   */
  static final String SYNC_SECRET = "carp-e2e-sync";

  static final String SYNC_SECRET_ABSENT = "carp-e2e-sync-absent";
  static final String SYNC_KEY = "e2e-sync-key";

  static KubernetesClient admin;
  static Operator operator;
  static NetnsLab lab;
  static AgentPods pods;
  static DaemonSet agentDaemonSet;
  static Path webhookLog;
  static final Map<String, LabProcess> agents = new java.util.HashMap<>();

  @BeforeAll
  static void setUp() throws IOException {
    ControlPlane cp = ControlPlane.shared();
    admin = cp.adminClient();
    Crds.install(admin);
    for (String ns : List.of("carp-system", "carp-agents")) {
      admin
          .namespaces()
          .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .serverSideApply();
    }
    // The control plane is shared by the test classes of this JVM: start from no addresses and no
    // clusters.
    admin.resources(VirtualAddress.class).delete();
    admin.resources(FirewallCluster.class).delete();
    await()
        .atMost(WAIT)
        .until(
            () ->
                admin.resources(VirtualAddress.class).list().getItems().isEmpty()
                    && admin.resources(FirewallCluster.class).list().getItems().isEmpty());
    Path root = ControlPlaneBinaries.repositoryRoot();
    apply(root.resolve("deploy/rbac"));
    for (String node : List.of("mickey", "minnie")) {
      admin
          .nodes()
          .resource(
              new NodeBuilder()
                  .withNewMetadata()
                  .withName(node)
                  .addToLabels("node-restriction.kubernetes.io/carp-cluster", "mickey-minnie")
                  .endMetadata()
                  .build())
          .serverSideApply();
    }
    operator =
        OperatorMain.start(
            new OperatorSettings(
                "carp-system",
                "carp-agents",
                "example/carp-agent:test",
                "IfNotPresent",
                false,
                "e2e",
                0,
                false),
            o -> o.withKubernetesClient(admin).withCloseClientOnStop(false));
    apply(root.resolve("examples/active-standby"));
    // ifstated-style actions from the CRD: the master carries a marker address, a backup drops it.
    var actions = new dev.carpoperator.api.v1alpha1.ActionsSpec();
    // The second one fails (no such link): reported in status as ActionsFailing, and never blocks
    // the election.
    actions.setOnMaster(
        List.of(
            markerAction(true),
            dev.carpoperator.api.v1alpha1.StateAction.link("carp-none0", true)));
    actions.setOnBackup(List.of(markerAction(false)));
    var notifications = new dev.carpoperator.api.v1alpha1.NotificationsSpec();
    var hook = new dev.carpoperator.api.v1alpha1.NotificationsSpec.Webhook();
    hook.setUrl(
        "http://192.0.2.12:8099/carp"); // the recorder in minnie's namespace, reached over the lab
    // bridge
    notifications.setWebhook(hook);
    // State sync over the lab link, authenticated with a key from a Secret that does not exist yet:
    // the agents log
    // sync-not-started and run CARP without it (the sync test then creates the Secret and restarts
    // them).
    admin.secrets().inNamespace("carp-agents").withName(SYNC_SECRET_ABSENT).delete();
    var sync = new dev.carpoperator.api.v1alpha1.SyncSpec();
    sync.setInterfaceName(NetnsLab.HOST_IF);
    sync.setMode(dev.carpoperator.api.v1alpha1.SyncMode.AUTHENTICATED);
    sync.setKeySecretRef(
        new dev.carpoperator.api.v1alpha1.SecretKeyRef(
            SYNC_SECRET_ABSENT, "carp-agents", SYNC_KEY));
    sync.setBulkUpdateTimeoutSeconds(10);
    // A merge patch of just these fields: no resourceVersion, so no conflict with the operator's
    // status writes.
    String patch =
        admin
            .getKubernetesSerialization()
            .asJson(
                Map.of(
                    "spec",
                    Map.of("actions", actions, "notifications", notifications, "sync", sync)));
    admin
        .resources(FirewallCluster.class)
        .withName("mickey-minnie")
        .patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            patch);

    lab = NetnsLab.create();
    lab.addHost("mickey", "192.0.2.11/24");
    lab.addHost("minnie", "192.0.2.12/24");
    pods = AgentPods.open(cp, admin, lab, AgentMain.class.getName());
    agentDaemonSet = pods.awaitDaemonSet("carp-agents", "carp-agent-mickey-minnie", WAIT);
    webhookLog = lab.dir().resolve("webhook.log");
    lab.host("minnie")
        .startJava(
            "webhook-recorder",
            dev.carpoperator.testing.netns.WebhookRecorder.class.getName(),
            List.of(),
            "192.0.2.12",
            "8099",
            webhookLog.toString());
    for (String node : List.of("mickey", "minnie")) {
      startAgent(node);
    }
  }

  static final String MARKER = "203.0.113.1";

  static dev.carpoperator.api.v1alpha1.StateAction markerAction(boolean present) {
    var a = new dev.carpoperator.api.v1alpha1.StateAction.AddressAction();
    a.setInterfaceName("eth0");
    a.setAddress(MARKER + "/32");
    a.setPresent(present);
    var action = new dev.carpoperator.api.v1alpha1.StateAction();
    action.setAddress(a);
    return action;
  }

  static List<String> webhookLines() throws IOException {
    return Files.exists(webhookLog) ? Files.readAllLines(webhookLog) : List.of();
  }

  static List<String> markerHolders() {
    List<String> out = new ArrayList<>();
    for (String n : List.of("mickey", "minnie")) {
      if (lab.host(n)
          .exec("ip", "-o", "addr", "show", "dev", NetnsLab.HOST_IF)
          .stdout()
          .contains(" " + MARKER + "/")) out.add(n);
    }
    return out;
  }

  static void apply(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        try (InputStream in = Files.newInputStream(f)) {
          for (HasMetadata item : admin.load(in).items())
            admin.resource(item).forceConflicts().serverSideApply();
        }
      }
    }
  }

  /**
   * As the DaemonSet would run it (AgentPods: its args and env, the node name and namespace from
   * the downward API).
   */
  static void startAgent(String node) {
    agents.put(node, pods.start(node, agentDaemonSet));
  }

  static void isolate(boolean on) {
    for (String n : List.of("mickey", "minnie")) {
      lab.execOnSwitch(
              "bridge",
              "link",
              "set",
              "dev",
              lab.host(n).switchPort(),
              "isolated",
              on ? "on" : "off")
          .check();
    }
  }

  static void crash(String node) {
    LabProcess p = agents.get(node);
    p.process().destroyForcibly();
    try {
      p.waitFor(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    lab.host(node)
        .exec(
            "ip", "addr", "del", VIP + "/24", "dev", NetnsLab.HOST_IF); // the machine would be gone
  }

  @AfterAll
  static void tearDown() {
    if (pods != null) pods.close();
    if (lab != null) lab.close();
    if (operator != null) operator.stop();
    if (admin != null) admin.close();
  }

  static List<String> holders() {
    List<String> out = new ArrayList<>();
    for (String n : List.of("mickey", "minnie")) {
      if (lab.host(n)
          .exec("ip", "-o", "addr", "show", "dev", NetnsLab.HOST_IF)
          .stdout()
          .contains(" " + VIP + "/")) out.add(n);
    }
    return out;
  }

  static VirtualAddress awaitMaster(String node) {
    try {
      return await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> admin.resources(VirtualAddress.class).withName(VA).get(),
              va ->
                  va.getStatus() != null
                      && node.equals(va.getStatus().getMaster())
                      && va.getStatus().getConditions().stream()
                          .anyMatch(
                              c ->
                                  CarpApi.CONDITION_READY.equals(c.getType())
                                      && "True".equals(c.getStatus())));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      var st = admin.resources(VirtualAddress.class).withName(VA).get().getStatus();
      StringBuilder sb =
          new StringBuilder(
              "expected master "
                  + node
                  + "; status master="
                  + (st == null ? null : st.getMaster())
                  + " conditions="
                  + (st == null
                      ? null
                      : st.getConditions().stream()
                          .map(
                              c ->
                                  c.getType()
                                      + "="
                                      + c.getStatus()
                                      + "/"
                                      + c.getReason()
                                      + ": "
                                      + c.getMessage())
                          .toList())
                  + " nodes="
                  + (st == null
                      ? null
                      : st.getNodes().stream()
                          .map(
                              n ->
                                  n.getName()
                                      + "="
                                      + n.getState()
                                      + " since "
                                      + n.getSince()
                                      + " last "
                                      + n.getLastReport())
                          .toList())
                  + "\n");
      agents.forEach(
          (n, p) -> {
            List<String> lines = p.output().lines().toList();
            sb.append("--- ")
                .append(n)
                .append('\n')
                .append(
                    String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())))
                .append('\n');
            try {
              Process dump =
                  new ProcessBuilder(
                          Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                          Long.toString(p.pid()),
                          "Thread.print")
                      .redirectErrorStream(true)
                      .start();
              String threads = new String(dump.getInputStream().readAllBytes());
              int i = threads.indexOf("\"carp-engine\"");
              sb.append("--- carp-engine thread of ")
                  .append(n)
                  .append('\n')
                  .append(
                      i < 0 ? "(none)" : threads.substring(i, Math.min(threads.length(), i + 2500)))
                  .append('\n');
            } catch (IOException ex) {
              sb.append("(no thread dump: ").append(ex).append(")\n");
            }
          });
      throw new AssertionError(sb.toString(), e);
    }
  }

  @Test
  @Order(1)
  void theExampleElectsReportsFailsOverAndSurvivesAnApiOutage() {
    // Applying the example with agents running: mickey (advskew 0) is master, shown in status and
    // kubectl.
    awaitMaster("mickey");
    await().atMost(WAIT).until(() -> holders().equals(List.of("mickey")));
    await()
        .atMost(WAIT)
        .until(() -> markerHolders().equals(List.of("mickey"))); // onMaster ran on mickey only
    await()
        .atMost(WAIT)
        .until(
            () ->
                webhookLines().stream()
                    .anyMatch(
                        l ->
                            l.contains("\"node\":\"mickey\"")
                                && l.contains("\"to\":\"MASTER\"")
                                && l.contains("\"cluster\":\"mickey-minnie\"")));
    await()
        .atMost(WAIT)
        .until(
            () ->
                admin
                    .resources(VirtualAddress.class)
                    .withName(VA)
                    .get()
                    .getStatus()
                    .getConditions()
                    .stream()
                    .anyMatch(
                        c ->
                            CarpApi.CONDITION_DEGRADED.equals(c.getType())
                                && "ActionsFailing".equals(c.getReason())
                                && c.getMessage()
                                    .contains("mickey (1 failed: link carp-none0 up")));
    assertThat(ControlPlane.shared().kubectl("get", "va", VA))
        .containsPattern(VA + "\\s+1\\s+\\S+\\s+mickey\\s+True");
    VirtualAddress va = admin.resources(VirtualAddress.class).withName(VA).get();
    assertThat(va.getStatus().getNodes())
        .extracting(n -> n.getName() + "=" + n.getState())
        .contains("mickey=MASTER", "minnie=BACKUP");
    // the master recorded the address it added, in the DaemonSet's runtime volume (here a directory
    // of the lab's own)
    assertThat(lab.dir().resolve("volumes/run/mickey/addresses-mickey-minnie"))
        .content()
        .contains(VIP + "/24");
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(
                        admin
                            .resources(FirewallCluster.class)
                            .withName("mickey-minnie")
                            .get()
                            .getStatus()
                            .getNodes())
                    .extracting(n -> n.getName())
                    .containsExactly("mickey", "minnie"));
    // Both agents report; spec.sync names a key Secret that does not exist, so they run without
    // the sync: the cluster says so, per node and in Degraded.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              var st =
                  admin
                      .resources(FirewallCluster.class)
                      .withName("mickey-minnie")
                      .get()
                      .getStatus();
              assertThat(st.getNodes())
                  .extracting(n -> n.getName() + " " + n.getAgentReady() + " " + n.getSync())
                  .containsExactly("mickey true disabled", "minnie true disabled");
              assertThat(st.getNodes()).allSatisfy(n -> assertThat(n.getDemotion()).isNotNull());
              assertThat(st.getConditions())
                  .anySatisfy(
                      c -> {
                        assertThat(c.getType()).isEqualTo(CarpApi.CONDITION_DEGRADED);
                        assertThat(c.getStatus()).isEqualTo("True");
                        assertThat(c.getReason()).isEqualTo("SyncNotRunning");
                        assertThat(c.getMessage())
                            .contains("spec.sync is set but mickey, minnie run without state sync");
                      });
            });

    // The master crashes: minnie takes over, status and an Event follow.
    crash("mickey");
    VirtualAddress failedOver = awaitMaster("minnie");
    await().atMost(WAIT).until(() -> holders().equals(List.of("minnie")));
    // From minnie's own state change to the operator's status update: printed, not asserted (see
    // docs/benchmarks.md).
    String since =
        failedOver.getStatus().getNodes().stream()
            .filter(n -> n.getName().equals("minnie"))
            .findFirst()
            .orElseThrow()
            .getSince();
    System.out.println(
        "E2E-FAILOVER-STATUS-LATENCY-MS "
            + java.time.Duration.between(
                    java.time.Instant.parse(since),
                    java.time.Instant.parse(failedOver.getStatus().getLastTransitionTime()))
                .toMillis());
    await()
        .atMost(WAIT)
        .until(
            () ->
                admin.v1().events().inNamespace("default").list().getItems().stream()
                    .anyMatch(
                        e ->
                            VA.equals(e.getInvolvedObject().getName())
                                && "MasterChanged".equals(e.getReason())
                                && e.getMessage().contains("from mickey to minnie")));
    await()
        .atMost(WAIT)
        .until(() -> markerHolders().contains("minnie")); // minnie's onMaster followed the failover
    await()
        .atMost(WAIT)
        .until(
            () ->
                webhookLines().stream()
                    .anyMatch(
                        l -> l.contains("\"node\":\"minnie\"") && l.contains("\"to\":\"MASTER\"")));
    await()
        .atMost(WAIT)
        .until(
            () ->
                admin.v1().events().inNamespace("default").list().getItems().stream()
                    .anyMatch(
                        e ->
                            VA.equals(e.getInvolvedObject().getName())
                                && "StateChanged".equals(e.getReason())
                                && e.getMessage().startsWith("minnie: vhid 1 BACKUP -> MASTER")));

    // mickey returns; with preempt (the example sets it) it takes back.
    startAgent("mickey");
    awaitMaster("mickey");
    await().atMost(WAIT).until(() -> holders().equals(List.of("mickey")));

    // The API server becomes unreachable for the agents: failover still happens.
    pods.apiDown();
    crash("mickey");
    await().atMost(WAIT).until(() -> holders().equals(List.of("minnie")));
    // ...and when it is back, minnie's report catches up.
    pods.apiUp();
    awaitMaster("minnie");
    // The "back" line follows the successful write, so it may come a moment after the status shows
    // it.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(agents.get("minnie").output())
                    .contains(
                        "\"event\":\"status-report-failed\"",
                        "\"event\":\"status-report-recovered\""));

    // Split brain: mickey comes back but the two cannot hear each other (isolated switch ports:
    // links stay up,
    // frames between them are dropped), so both are MASTER and both alive.
    isolate(true);
    startAgent("mickey");
    try {
      VirtualAddress split =
          await()
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(300))
              .until(
                  () -> admin.resources(VirtualAddress.class).withName(VA).get(),
                  v ->
                      v.getStatus().getConditions().stream()
                          .anyMatch(
                              c ->
                                  CarpApi.CONDITION_DEGRADED.equals(c.getType())
                                      && "MultipleMasters".equals(c.getReason())));
      assertThat(split.getStatus().getConditions())
          .anySatisfy(
              c -> {
                assertThat(c.getType()).isEqualTo(CarpApi.CONDITION_READY);
                assertThat(c.getStatus()).isEqualTo("False");
                assertThat(c.getMessage()).contains("mickey and minnie are all MASTER of vhid 1");
              });
    } finally {
      isolate(false);
    }
    awaitMaster("mickey"); // link back: mickey's faster adverts win (preempt), minnie steps down
  }

  /**
   * Where each node's current agent starts in its log (a restarted agent appends to the file of the
   * one before).
   */
  static final Map<String, Integer> logStart = new java.util.HashMap<>();

  /** The current agent's output. */
  static String agentLog(String node) {
    return agents.get(node).output().substring(logStart.getOrDefault(node, 0));
  }

  /** The current agent's log lines (JSON) holding every one of {@code parts}. */
  static List<String> logLines(String node, String... parts) {
    return agentLog(node).lines().filter(l -> Stream.of(parts).allMatch(l::contains)).toList();
  }

  static String conntrack(String node) {
    return lab.host(node).exec("conntrack", "-L", "-p", "tcp").stdout();
  }

  static String syncDiagnostics() {
    StringBuilder sb = new StringBuilder();
    for (String n : List.of("mickey", "minnie")) {
      List<String> lines = agentLog(n).lines().toList();
      sb.append("--- ")
          .append(n)
          .append(" conntrack:\n")
          .append(conntrack(n))
          .append("--- ")
          .append(n)
          .append(" agent:\n")
          .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())))
          .append('\n');
    }
    return sb.toString();
  }

  /**
   * Issue 5: Kubernetes mode takes the state sync from FirewallCluster.spec.sync, its key from a
   * Secret.
   */
  @Test
  @Order(2)
  void theStateSyncComesFromTheFirewallClusterAndItsKeySecret() throws Exception {
    // As started in setUp: the key Secret does not exist, so no sync; the log names the Secret,
    // CARP runs regardless.
    for (String n : List.of("mickey", "minnie")) {
      await()
          .atMost(WAIT)
          .until(
              () ->
                  !logLines(
                          n, "\"event\":\"sync-not-started\"", "carp-agents/" + SYNC_SECRET_ABSENT)
                      .isEmpty());
      assertThat(agentLog(n)).doesNotContain("\"event\":\"sync-start\"");
    }
    awaitMaster("mickey");
    awaitReported("mickey=MASTER", "minnie=BACKUP");

    // The Secret (32 random bytes under a non-default key name) and the reference to it; then a
    // rollout restart.
    byte[] key = new byte[32];
    new java.security.SecureRandom().nextBytes(key);
    admin
        .secrets()
        .resource(
            new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata()
                .withName(SYNC_SECRET)
                .withNamespace("carp-agents")
                .endMetadata()
                .addToData(SYNC_KEY, java.util.Base64.getEncoder().encodeToString(key))
                .build())
        .forceConflicts()
        .serverSideApply();
    admin
        .resources(FirewallCluster.class)
        .withName("mickey-minnie")
        .patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            admin
                .getKubernetesSerialization()
                .asJson(
                    Map.of(
                        "spec",
                        Map.of("sync", Map.of("keySecretRef", Map.of("name", SYNC_SECRET))))));
    List<LabProcess> old = List.copyOf(agents.values());
    old.forEach(
        p ->
            p.process().destroy()); // SIGTERM to both at once, as the DaemonSet's pods are replaced
    old.forEach(p -> p.stop(Duration.ofSeconds(20)));
    for (String n : List.of("mickey", "minnie")) {
      logStart.put(n, agents.get(n).output().length());
      startAgent(n);
    }

    for (String n : List.of("mickey", "minnie")) {
      await()
          .atMost(WAIT)
          .untilAsserted(
              () ->
                  assertThat(agentLog(n))
                      .as(n)
                      .contains("\"event\":\"sync-start\"")); // else the log says why
      assertThat(logLines(n, "\"event\":\"sync-start\"").getFirst())
          .as(n)
          .contains(
              "\"interface\":\"eth0\"", "\"mode\":\"authenticated\"", "\"peers\":\"224.0.0.240\"");
      assertThat(agentLog(n)).as(n).doesNotContain("\"event\":\"sync-not-started\"");
    }
    assertThat(conntrack("minnie")).doesNotContain("sport=40000");

    // A connection mickey's kernel tracks shows up in minnie's table, sent over the authenticated
    // sync.
    lab.host("mickey")
        .exec(
            "conntrack",
            "-I",
            "-p",
            "tcp",
            "-s",
            "198.51.100.10",
            "-d",
            "203.0.113.10",
            "--sport",
            "40000",
            "--dport",
            "80",
            "--state",
            "ESTABLISHED",
            "-t",
            "600",
            "-u",
            "SEEN_REPLY,ASSURED")
        .check();
    long inserted = System.nanoTime();
    try {
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(50))
          .until(
              () ->
                  conntrack("minnie")
                      .lines()
                      .anyMatch(
                          l ->
                              l.contains(
                                      "ESTABLISHED src=198.51.100.10 dst=203.0.113.10 sport=40000 dport=80 src=203.0.113.10 dst=198.51.100.10 sport=80 dport=40000")
                                  && l.contains("[ASSURED]")));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          "the conntrack entry inserted on mickey did not reach minnie\n" + syncDiagnostics(), e);
    }
    System.out.println(
        "E2E-SYNC-CONNTRACK-LATENCY-MS " + (System.nanoTime() - inserted) / 1_000_000);

    // Both ended their start-up bulk update (each holds CARP demoted until then), and the election
    // ran as before.
    for (String n : List.of("mickey", "minnie")) {
      await()
          .atMost(WAIT)
          .until(
              () ->
                  !logLines(n, "\"event\":\"sync-bulk\"", "\"to\":\"DONE\"").isEmpty()
                      || !logLines(n, "\"event\":\"sync-bulk\"", "\"to\":\"TIMED_OUT\"").isEmpty());
      System.out.println(
          "E2E-SYNC-BULK " + n + " " + logLines(n, "\"event\":\"sync-bulk\"").getLast());
    }
    awaitMaster("mickey");
    // The cluster's status follows: both run the sync, nothing left to fix.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              var st =
                  admin
                      .resources(FirewallCluster.class)
                      .withName("mickey-minnie")
                      .get()
                      .getStatus();
              assertThat(st.getNodes())
                  .allSatisfy(
                      n -> {
                        assertThat(n.getAgentReady()).isTrue();
                        assertThat(n.getSync()).isIn("in-sync", "behind");
                      });
              assertThat(st.getConditions())
                  .anySatisfy(
                      c -> {
                        assertThat(c.getType()).isEqualTo(CarpApi.CONDITION_DEGRADED);
                        assertThat(c.getStatus()).isEqualTo("False");
                        assertThat(c.getReason()).isEqualTo("AsExpected");
                      });
            });
  }

  /**
   * An agent that starts while the API server cannot be reached (as after an API server restart,
   * "429: storage is (re)initializing") waits for it and then runs; it used to exit and crash-loop.
   */
  @Test
  @Order(3)
  void anAgentStartedWhileTheApiServerIsUnreachableWaitsForIt() {
    awaitMaster("mickey");
    LabProcess old = agents.get("minnie");
    old.process().destroy(); // SIGTERM: it bows out as a backup
    old.stop(Duration.ofSeconds(20));
    logStart.put("minnie", old.output().length());
    pods.apiDown();
    try {
      startAgent("minnie");
      await()
          .atMost(WAIT)
          .until(() -> agentLog("minnie").contains("\"event\":\"api-unavailable\""));
      await() // still there, waiting, several retries later
          .during(Duration.ofSeconds(5))
          .atMost(Duration.ofSeconds(10))
          .until(() -> agents.get("minnie").isAlive());
    } finally {
      pods.apiUp();
    }
    await().atMost(WAIT).until(() -> agentLog("minnie").contains("\"message\":\"agent started\""));
    awaitReported("mickey=MASTER", "minnie=BACKUP");
  }

  /** Waits until the address's status shows these "node=STATE" entries, as the agents report. */
  static void awaitReported(String... nodeStates) {
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(
                        admin
                            .resources(VirtualAddress.class)
                            .withName(VA)
                            .get()
                            .getStatus()
                            .getNodes())
                    .extracting(s -> s.getName() + "=" + s.getState())
                    .contains(nodeStates));
  }
}
