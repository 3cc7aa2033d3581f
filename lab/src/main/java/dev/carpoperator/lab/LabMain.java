package dev.carpoperator.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code ./carp lab}: runs the story ({@link Story}) on a fresh lab and cleans up; with {@code
 * --keep} the lab stays up afterwards (this process keeps the control plane and the nodes running)
 * and its state file lets {@code ./carp lab down} ({@code LabMain down}) tear it down from another
 * shell.
 *
 * <pre>
 *   LabMain [--keep] [--dir DIR]     the story; DIR (default /run/carp-lab) holds lab.log and, with --keep, state.properties
 *   LabMain down [--dir DIR]         stops a kept lab and removes what it left
 *   LabMain --torture 30m [--seed N] [--faults pod,power,api,upgrade] [--api-outage 90s]
 *                                    the story, then the torture's Kubernetes variant ({@link KubeChaos});
 *                                    exit status 0 when no session was interrupted
 * </pre>
 */
public final class LabMain {
  static final Path DEFAULT_DIR = Path.of("/run/carp-lab");

  private LabMain() {}

  public static void main(String[] args) {
    boolean keep = false;
    boolean down = false;
    Path dir = DEFAULT_DIR;
    java.time.Duration torture = null;
    long seed = new java.security.SecureRandom().nextInt(Integer.MAX_VALUE);
    java.util.List<KubeChaos.Fault> faults = java.util.List.of(KubeChaos.Fault.values());
    java.time.Duration apiOutage = null;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--keep" -> keep = true;
          case "down" -> down = true;
          case "--dir" -> dir = Path.of(args[++i]);
          case "--torture" -> torture = duration(args[++i]);
          case "--seed" -> seed = Long.parseLong(args[++i]);
          case "--api-outage" -> apiOutage = duration(args[++i]);
          case "--faults" ->
              faults =
                  java.util.Arrays.stream(args[++i].split(","))
                      .map(KubeChaos.Fault::parse)
                      .toList();
          default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
        }
      }
    } catch (RuntimeException e) {
      System.err.println(
          "carp lab: "
              + e.getMessage()
              + "\nusage: LabMain [--keep] [--dir DIR] | LabMain down [--dir DIR]"
              + " | LabMain --torture 30m [--seed N] [--faults pod,power,api,upgrade] [--api-outage 90s]");
      System.exit(2);
    }
    KubeChaos.Options chaos = null;
    if (torture != null) {
      chaos = KubeChaos.Options.of(seed, torture).withFaults(faults);
      if (apiOutage != null) chaos = chaos.withApiOutage(apiOutage);
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      die("cannot create " + dir + ": " + e.getMessage());
    }
    // The operator's and the harness's logs go to a file: the terminal shows the story. Before any
    // logger exists.
    System.setProperty("carp.lab.log", dir.resolve(down ? "down.log" : "lab.log").toString());
    if (System.getProperty("logback.configurationFile") == null)
      System.setProperty("logback.configurationFile", "carp-lab-logback.xml");
    if (!"0".equals(uid()))
      die("the lab needs root (network namespaces, raw sockets): run it with sudo");

    LabState state = new LabState(dir);
    System.exit(down ? state.tearDown(System.out) : run(state, keep, chaos));
  }

  private static int run(LabState state, boolean keep, KubeChaos.Options chaos) {
    LabState.Running running = state.running();
    if (running != null) {
      die(
          "a lab is already running (pid "
              + running.pid()
              + "): see its KUBECONFIG in "
              + state.file()
              + ", or stop it with: sudo ./carp lab down");
    }
    state.clearStale(System.out);
    Printer out = new Printer(System.out);
    Lab lab = new Lab();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  lab.close();
                  state.delete();
                },
                "carp-lab-stop"));
    out.raw(
        "carp-operator lab: a Kubernetes cluster with real nodes on this machine, carp-operator installed by its Helm chart,"
            + "\nthree firewall nodes, then a failover story. This program's log: "
            + state.dir().resolve("lab.log"));
    KubeChaos.Report report = null;
    try {
      new Story(lab, out).run();
      if (chaos != null) {
        out.step(
            "The torture's Kubernetes variant: pods deleted, nodes' power cut, the API server stopped, helm upgrades");
        report = new KubeChaos(lab, chaos, out::raw).run();
        out.raw(report.summary());
        if (report.abortedBy() != null) throw new StoryFailure(report.abortedBy());
      }
    } catch (RuntimeException e) {
      // Keep the logs for a look afterwards.
      System.setProperty("carp.netns.keepLogs", "true");
      System.setProperty("carp.keepControlPlaneDir", "true");
      out.raw("");
      out.raw("FAILED: " + (e instanceof StoryFailure ? e.getMessage() : e.toString()));
      if (!(e instanceof StoryFailure)) e.printStackTrace(System.out);
      out.raw(
          "Logs kept: "
              + (lab.net == null ? "-" : lab.net.lab.dir())
              + " (containerd, kubelets, kube-proxy, traffic), "
              + (lab.controlPlane == null ? "-" : lab.controlPlane.workDir())
              + " (control plane), "
              + state.dir().resolve("lab.log")
              + " (this program)");
      lab.close();
      return 1;
    }
    if (keep) {
      printHints(out, lab, state);
      state.write(
          lab); // last: ./carp lab --keep stops following the output when the state file appears
      try {
        Thread.currentThread()
            .join(); // until ./carp lab down (SIGTERM) or Ctrl-C: the shutdown hook cleans up
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return 0;
    }
    out.step("Cleaning up: nodes (kubelets, containerd, containers), namespaces, control plane");
    long t0 = System.nanoTime();
    lab.close();
    out.say(
        "done in "
            + Printer.seconds(java.time.Duration.ofNanos(System.nanoTime() - t0))
            + "; the whole story took "
            + Printer.seconds(out.elapsed())
            + ". Run it with --keep to explore the lab with kubectl afterwards.");
    return report == null || report.interrupted().isEmpty() ? 0 : 1;
  }

  private static void printHints(Printer out, Lab lab, LabState state) {
    Path bin = lab.controlPlane.binDir();
    String ns = lab.net.node("minnie").namespace();
    out.raw(
        """

        The lab keeps running (pid %d). Explore it from another shell:

          export KUBECONFIG=%s
          export PATH=%s:$PATH
          kubectl get nodes -o wide
          kubectl get pods -n %s -o wide
          kubectl get pods -n %s -o wide
          kubectl get va -w
          kubectl get fwc %s -o yaml
          kubectl get events --field-selector involvedObject.kind=VirtualAddress
          kubectl logs -n %s -l app.kubernetes.io/component=agent --prefix
          helm list -n %s     # helm from %s

          # a node's NICs (the virtual addresses on the master) and its connection table, filled by the state sync:
          sudo ip netns exec %s ip -br addr
          sudo ip netns exec %s conntrack -L -p tcp
          # delete mickey's agent pod: the agent bows out, minnie takes over at once, the kubelet starts a new pod
          kubectl delete pod -n %s --field-selector spec.nodeName=mickey

        Namespaces %s (nodes control, %s); logs in %s (daemons, traffic) and %s (this program).
        Tear the lab down with: sudo ./carp lab down
        """
            .formatted(
                ProcessHandle.current().pid(),
                lab.controlPlane.kubeconfig(),
                bin,
                Lab.NAMESPACE,
                Lab.AGENTS_NAMESPACE,
                Lab.CLUSTER,
                Lab.AGENTS_NAMESPACE,
                Lab.NAMESPACE,
                dev.carpoperator.testing.kube.Helm.locate().getParent(),
                ns,
                ns,
                Lab.AGENTS_NAMESPACE,
                lab.net.lab.id() + "-*",
                String.join(", ", LabNetwork.NODES),
                lab.net.lab.dir(),
                state.dir().resolve("lab.log")));
  }

  /** 90s, 30m, 2h. */
  static java.time.Duration duration(String s) {
    var m = java.util.regex.Pattern.compile("(\\d+)([smh])").matcher(s.trim());
    if (!m.matches())
      throw new IllegalArgumentException("a duration is like 90s, 30m or 2h, not '" + s + "'");
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> java.time.Duration.ofSeconds(n);
      case "m" -> java.time.Duration.ofMinutes(n);
      default -> java.time.Duration.ofHours(n);
    };
  }

  private static String uid() {
    try {
      Process p = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
      return new String(p.getInputStream().readAllBytes()).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void die(String message) {
    System.err.println("carp lab: " + message);
    System.exit(1);
  }
}
