package dev.carpoperator.testing.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throw-away L2 network made of Linux network namespaces: one "switch" namespace holding a
 * bridge, and "hosts", each a namespace whose {@code eth0} is a veth pair plugged into the bridge.
 *
 * <p>Namespaces are named {@code carpt-<pid>-<n>-<role>}: the JVM pid lets {@link #sweepStale()}
 * remove what a crashed run left behind without touching labs of other live JVMs. The veth ends are
 * created directly inside the lab's namespaces, so no interface ever appears in the root namespace
 * and interface names only need to be unique per namespace (switch port {@code p-<host>}, host side
 * {@code eth0}).
 *
 * <p>{@link #close()} stops the lab's processes and deletes its namespaces; a JVM-wide shutdown
 * hook does the same for labs left open. Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) and
 * iproute2.
 *
 * <pre>{@code
 * try (NetnsLab lab = NetnsLab.create()) {
 *     NetnsLab.Host a = lab.addHost("a", "192.0.2.1/24", "2001:db8::1/64");
 *     NetnsLab.Host b = lab.addHost("b", "192.0.2.2/24");
 *     a.exec("ping", "-c1", "192.0.2.2").check();
 *     LabProcess agent = b.startJava("agent-b", "dev.example.Main", List.of(), "arg1");
 * }
 * }</pre>
 */
public final class NetnsLab implements AutoCloseable {
  public static final String PREFIX = "carpt-";
  public static final String HOST_IF = "eth0";
  public static final String BRIDGE = "br0";

  /** JVM flag every Java process we launch gets (JNA/pcap4j on Java 24+). */
  public static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";

  private static final Logger LOG = LoggerFactory.getLogger(NetnsLab.class);
  private static final Pattern OURS = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-.*");
  private static final Pattern HOST_NAME = Pattern.compile("[a-z][a-z0-9]{0,7}");
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final Set<NetnsLab> OPEN = ConcurrentHashMap.newKeySet();
  private static final Object HOOK_LOCK = new Object();
  private static boolean hookInstalled;

  /** Which end of a host's link {@link #cut} acts on. */
  public enum Side {
    SWITCH,
    HOST,
    BOTH
  }

  private final String id;
  private final int seq;
  private final String switchNs;
  private final Path dir;
  private final Map<String, Host> hosts = new LinkedHashMap<>();

  /** Extra switches ({@link #addSwitch}) by name, to their namespace. */
  private final Map<String, String> switches = new LinkedHashMap<>();

  private final List<String> namespaces = new ArrayList<>();
  private final List<LabProcess> processes = new ArrayList<>();
  private boolean closed;

  private NetnsLab(String id, int seq, Path dir) {
    this.id = id;
    this.seq = seq;
    this.switchNs = id + "-sw";
    this.dir = dir;
  }

  /** Sweeps stale namespaces, then creates a lab with its switch. */
  public static NetnsLab create() {
    installHook();
    sweepStale();
    int seq = SEQUENCE.incrementAndGet();
    String id = PREFIX + ProcessHandle.current().pid() + "-" + seq;
    Path dir;
    try {
      dir = Files.createTempDirectory(id + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    NetnsLab lab = new NetnsLab(id, seq, dir);
    OPEN.add(lab);
    try {
      lab.addNamespace(lab.switchNs);
      ip(
          lab.switchNs,
          "link",
          "add",
          BRIDGE,
          "type",
          "bridge",
          "stp_state",
          "0",
          "forward_delay",
          "0",
          "mcast_snooping",
          "0");
      ip(lab.switchNs, "link", "set", BRIDGE, "up");
      // with br_netfilter loaded the bridge validates IP headers and drops e.g. bad checksums; a
      // lab
      // switch must forward frames untouched (the keys are absent without br_netfilter: ignore
      // failures)
      Commands.run(
          Commands.DEFAULT_TIMEOUT,
          inNs(
              lab.switchNs,
              List.of(
                  "sysctl",
                  "-q",
                  "-w",
                  "net.bridge.bridge-nf-call-iptables=0",
                  "net.bridge.bridge-nf-call-ip6tables=0",
                  "net.bridge.bridge-nf-call-arptables=0")));
    } catch (RuntimeException e) {
      lab.close();
      throw e;
    }
    LOG.info("netns lab {} created (logs in {})", id, dir);
    return lab;
  }

  /** The lab's unique prefix, e.g. {@code carpt-4242-1}. */
  public String id() {
    return id;
  }

  public String switchNamespace() {
    return switchNs;
  }

  /** Directory holding process logs; deleted on close unless -Dcarp.netns.keepLogs=true. */
  public Path dir() {
    return dir;
  }

  /**
   * Adds a host: namespace, veth into the switch, {@code lo} and {@code eth0} up, a deterministic
   * locally administered MAC {@code 02:ca:00:00:<lab>:<index>}, and the given addresses (CIDR, v4
   * or v6).
   */
  public synchronized Host addHost(String name, String... cidrs) {
    ensureOpen();
    return addHostIn(switchNs, name, cidrs);
  }

  /** A host whose {@code eth0} is plugged into the bridge of switch namespace {@code sw}. */
  private Host addHostIn(String sw, String name, String... cidrs) {
    if (!HOST_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("host name must match " + HOST_NAME + ": " + name);
    }
    if (hosts.containsKey(name)) {
      throw new IllegalArgumentException("host exists: " + name);
    }
    String ns = id + "-" + name;
    addNamespace(ns);
    String port = "p-" + name;
    int index = hosts.size() + 1;
    String mac = String.format("02:ca:00:00:%02x:%02x", seq & 0xff, index & 0xff);
    ip(sw, "link", "add", port, "type", "veth", "peer", "name", HOST_IF, "netns", ns);
    ip(sw, "link", "set", port, "master", BRIDGE, "up");
    ip(ns, "link", "set", "lo", "up");
    ip(ns, "link", "set", HOST_IF, "address", mac, "up");
    Host host = new Host(name, ns, sw, port, mac);
    hosts.put(name, host);
    for (String cidr : cidrs) {
      host.addAddress(cidr);
    }
    return host;
  }

  public synchronized Host host(String name) {
    Host h = hosts.get(name);
    if (h == null) {
      throw new IllegalArgumentException("no such host: " + name);
    }
    return h;
  }

  public synchronized Collection<Host> hosts() {
    return List.copyOf(hosts.values());
  }

  /** Runs a command in the switch namespace (e.g. {@code bridge fdb show}). */
  public ExecResult execOnSwitch(String... command) {
    return Commands.run(Commands.DEFAULT_TIMEOUT, inNs(switchNs, List.of(command)));
  }

  /**
   * Adds another switch: a bridge in its own namespace, configured like the lab's first one. Hosts
   * join it with {@link #addHostOn} or {@link Host#addInterface}; e.g. two segments joined by
   * bridging hosts.
   */
  public synchronized NetnsLab addSwitch(String name) {
    ensureOpen();
    if (!HOST_NAME.matcher(name).matches() || switches.containsKey(name)) {
      throw new IllegalArgumentException(
          "switch name must be new and match " + HOST_NAME + ": " + name);
    }
    String ns = id + "-sw-" + name; // "-sw-" cannot clash with a host: host names have no '-'
    addNamespace(ns);
    ip(
        ns,
        "link",
        "add",
        BRIDGE,
        "type",
        "bridge",
        "stp_state",
        "0",
        "forward_delay",
        "0",
        "mcast_snooping",
        "0");
    ip(ns, "link", "set", BRIDGE, "up");
    Commands.run(
        Commands.DEFAULT_TIMEOUT,
        inNs(
            ns,
            List.of(
                "sysctl",
                "-q",
                "-w",
                "net.bridge.bridge-nf-call-iptables=0",
                "net.bridge.bridge-nf-call-ip6tables=0",
                "net.bridge.bridge-nf-call-arptables=0")));
    switches.put(name, ns);
    return this;
  }

  /**
   * Adds a host whose {@code eth0} is plugged into the switch {@code switchName} (see {@link
   * #addSwitch}).
   */
  public synchronized Host addHostOn(String switchName, String name, String... cidrs) {
    ensureOpen();
    return addHostIn(switchNs(switchName), name, cidrs);
  }

  /** Runs a command in an extra switch's namespace. */
  public ExecResult execOnSwitchNamed(String switchName, String... command) {
    return Commands.run(Commands.DEFAULT_TIMEOUT, inNs(switchNs(switchName), List.of(command)));
  }

  private synchronized String switchNs(String switchName) {
    String sw = switches.get(switchName);
    if (sw == null) {
      throw new IllegalArgumentException(
          "no such switch: " + switchName + " (add it with addSwitch)");
    }
    return sw;
  }

  /** Stops the lab's processes and deletes its namespaces. Never throws; problems are logged. */
  @Override
  public void close() {
    List<LabProcess> procs;
    List<String> nss;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      procs = new ArrayList<>(processes);
      nss = new ArrayList<>(namespaces);
    }
    for (LabProcess p : procs) {
      try {
        p.stop(Duration.ofSeconds(3));
      } catch (RuntimeException e) {
        LOG.warn("cannot stop {}", p, e);
      }
    }
    // hosts first: deleting a host namespace also destroys its veth and the switch port
    for (int i = nss.size() - 1; i >= 0; i--) {
      deleteNamespace(nss.get(i));
    }
    OPEN.remove(this);
    if (!Boolean.getBoolean("carp.netns.keepLogs")) {
      deleteTree(dir);
    }
    LOG.info("netns lab {} closed", id);
  }

  /**
   * Deletes every {@code carpt-<pid>-...} namespace whose pid is not a live process, killing
   * whatever still runs inside it first. Returns the names deleted.
   */
  public static List<String> sweepStale() {
    List<String> deleted = new ArrayList<>();
    for (String ns : listNamespaces()) {
      Matcher m = OURS.matcher(ns);
      if (!m.matches()) {
        continue;
      }
      long pid;
      try {
        pid = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        continue;
      }
      if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        continue;
      }
      LOG.warn("deleting stale namespace {} left by dead process {}", ns, pid);
      deleteNamespace(ns);
      deleted.add(ns);
    }
    return deleted;
  }

  /** Namespace names as {@code ip netns list} shows them. */
  public static List<String> listNamespaces() {
    ExecResult r = Commands.run("ip", "netns", "list").check();
    return r.stdout()
        .lines()
        .map(String::strip)
        .filter(l -> !l.isEmpty())
        .map(l -> l.split("\\s+", 2)[0])
        .toList();
  }

  // ---- internals
  // ------------------------------------------------------------------------------------

  private void addNamespace(String ns) {
    Commands.run("ip", "netns", "add", ns).check();
    synchronized (this) {
      namespaces.add(ns);
    }
  }

  private static void deleteNamespace(String ns) {
    // a namespace stays alive while a process is in it; kill leftovers (only ever inside our own
    // namespaces)
    ExecResult pids = Commands.run("ip", "netns", "pids", ns);
    if (pids.ok()) {
      pids.stdout()
          .lines()
          .map(String::strip)
          .filter(s -> s.matches("\\d+"))
          .map(Long::parseLong)
          .forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }
    ExecResult r = Commands.run("ip", "netns", "delete", ns);
    if (!r.ok() && listNamespaces().contains(ns)) {
      LOG.warn("cannot delete namespace {}: {}", ns, r.stderr().strip());
    }
  }

  static ExecResult ip(String ns, String... args) {
    List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns));
    cmd.addAll(List.of(args));
    return Commands.run(Commands.DEFAULT_TIMEOUT, cmd).check();
  }

  static List<String> inNs(String ns, List<String> command) {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    cmd.addAll(command);
    return cmd;
  }

  private synchronized void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("lab " + id + " is closed");
    }
  }

  private synchronized LabProcess start(Host host, String label, List<String> command) {
    return launch(host, label, inNs(host.namespace, command));
  }

  /**
   * The command in the host's network namespace only ({@code nsenter --net}), not {@code ip netns
   * exec}: that one also unshares the mount namespace and remounts /sys, which hides /sys/fs/cgroup
   * from a kubelet and keeps the mounts a kubelet makes for its pods away from the runc that
   * containerd starts.
   */
  public static List<String> inNetOnly(String ns, List<String> command) {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + ns));
    cmd.addAll(command);
    return cmd;
  }

  private synchronized LabProcess launch(Host host, String label, List<String> cmd) {
    ensureOpen();
    if (!label.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException("label must be a simple file name: " + label);
    }
    Path log = dir.resolve(host.name + "-" + label + ".log");
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
      LabProcess lp = new LabProcess(host.name, label, List.copyOf(cmd), p, log);
      processes.add(lp);
      return lp;
    } catch (IOException e) {
      throw new NetnsException(
          "cannot start in " + host.namespace + ": " + String.join(" ", cmd), e);
    }
  }

  /** The command line that runs {@code mainClass} with this JVM and this JVM's classpath. */
  public static List<String> javaCommand(String mainClass, List<String> jvmArgs, String... args) {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.add(NATIVE_ACCESS);
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(List.of(args));
    return cmd;
  }

  private static void installHook() {
    synchronized (HOOK_LOCK) {
      if (!hookInstalled) {
        Runtime.getRuntime()
            .addShutdownHook(
                new Thread(() -> List.copyOf(OPEN).forEach(NetnsLab::close), "netns-lab-cleanup"));
        hookInstalled = true;
      }
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.debug("cannot delete {}", root, e);
    }
  }

  /** One host of the lab. */
  public final class Host {
    private final String name;
    private final String namespace;
    private final String switchPort;
    private final String mac;

    /** Every NIC of the host and the switch namespace its peer port is in; eth0 first. */
    private final Map<String, String> switchOfNic = new LinkedHashMap<>();

    private Host(
        String name, String namespace, String switchNamespace, String switchPort, String mac) {
      this.name = name;
      this.namespace = namespace;
      this.switchPort = switchPort;
      this.mac = mac;
      switchOfNic.put(HOST_IF, switchNamespace);
    }

    public String name() {
      return name;
    }

    /** The namespace name, for {@code ip -n} / {@code ip netns exec}. */
    public String namespace() {
      return namespace;
    }

    /** The host's interface name inside its namespace. */
    public String ifName() {
      return HOST_IF;
    }

    /** Name of this host's port on the switch bridge (inside {@link #switchNamespace()}). */
    public String switchPort() {
      return switchPort;
    }

    /** MAC of the host's {@code eth0}, "02:ca:...". */
    public String mac() {
      return mac;
    }

    /**
     * Adds a NIC {@code ifName} (up, no address unless given) plugged into the switch {@code
     * switchName}; the switch port is {@code p-<host>}. One NIC per host and switch.
     */
    public Host addInterface(String ifName, String switchName, String... cidrs) {
      if (!ifName.matches("[a-z][a-z0-9]{0,14}") || HOST_IF.equals(ifName)) {
        throw new IllegalArgumentException("not a new interface name: " + ifName);
      }
      String sw = switchNs(switchName);
      ip(
          sw,
          "link",
          "add",
          "p-" + name,
          "type",
          "veth",
          "peer",
          "name",
          ifName,
          "netns",
          namespace);
      ip(sw, "link", "set", "p-" + name, "master", BRIDGE, "up");
      ip(namespace, "link", "set", ifName, "up");
      for (String cidr : cidrs) {
        ip(namespace, "addr", "add", cidr, "dev", ifName);
      }
      synchronized (switchOfNic) {
        switchOfNic.put(ifName, sw);
      }
      return this;
    }

    /** Adds an address in CIDR form to eth0; IPv6 gets {@code nodad} so it is usable at once. */
    public Host addAddress(String cidr) {
      if (cidr.contains(":")) {
        ip(namespace, "addr", "add", cidr, "dev", HOST_IF, "nodad");
      } else {
        ip(namespace, "addr", "add", cidr, "dev", HOST_IF);
      }
      return this;
    }

    public ExecResult exec(String... command) {
      return exec(Commands.DEFAULT_TIMEOUT, command);
    }

    /** Runs a command inside the host and waits (killing it after {@code timeout}). */
    public ExecResult exec(Duration timeout, String... command) {
      ensureOpen();
      return Commands.run(timeout, inNs(namespace, List.of(command)));
    }

    /**
     * Starts a long-running command inside the host; output goes to {@code
     * <dir>/<host>-<label>.log}.
     */
    public LabProcess start(String label, String... command) {
      return NetnsLab.this.start(this, label, List.of(command));
    }

    /**
     * Starts a daemon in the host's network namespace that shares the machine's mount namespace and
     * /sys ({@code nsenter --net}): containerd, a kubelet, kube-proxy. Output goes to {@code
     * <dir>/<host>-<label>.log}.
     */
    public LabProcess startSharingMounts(String label, List<String> command) {
      return NetnsLab.this.launch(this, label, inNetOnly(namespace, command));
    }

    /**
     * Runs a short command in the host's network namespace only (see {@link #startSharingMounts}).
     */
    public ExecResult execSharingMounts(Duration timeout, String... command) {
      ensureOpen();
      return Commands.run(timeout, inNetOnly(namespace, List.of(command)));
    }

    /**
     * Starts {@code mainClass} inside the host with the current JVM binary and classpath, plus
     * {@value #NATIVE_ACCESS} and the given extra JVM arguments.
     */
    public LabProcess startJava(
        String label, String mainClass, List<String> jvmArgs, String... args) {
      return NetnsLab.this.start(this, label, javaCommand(mainClass, jvmArgs, args));
    }

    public LabProcess startJava(String label, Class<?> mainClass, String... args) {
      return startJava(label, mainClass.getName(), List.of(), args);
    }

    /** Takes the link down: the switch port, the host's eth0, or both. */
    public void cut(Side side) {
      setLink(side, "down");
    }

    public void cut() {
      cut(Side.SWITCH);
    }

    /** Brings the link back up on the given side(s). */
    public void restore(Side side) {
      setLink(side, "up");
    }

    public void restore() {
      restore(Side.BOTH);
    }

    /**
     * Takes every NIC of the host down ({@code eth0} and those of {@link #addInterface}), as a dead
     * box.
     */
    public void cutAll(Side side) {
      for (String nic : nics()) setLink(nic, side, "down");
    }

    /** Brings every NIC of the host back up on the given side(s). */
    public void restoreAll(Side side) {
      for (String nic : nics()) setLink(nic, side, "up");
    }

    /** Takes one NIC of the host down ({@code eth0} or one of {@link #addInterface}). */
    public void cut(String nic, Side side) {
      requireNic(nic);
      setLink(nic, side, "down");
    }

    /** Brings one NIC of the host back up on the given side(s). */
    public void restore(String nic, Side side) {
      requireNic(nic);
      setLink(nic, side, "up");
    }

    private void requireNic(String nic) {
      if (!nics().contains(nic))
        throw new IllegalArgumentException(name + " has no NIC " + nic + " (has " + nics() + ")");
    }

    private List<String> nics() {
      synchronized (switchOfNic) {
        return List.copyOf(switchOfNic.keySet());
      }
    }

    private void setLink(Side side, String state) {
      setLink(HOST_IF, side, state);
    }

    private void setLink(String nic, Side side, String state) {
      ensureOpen();
      String sw;
      synchronized (switchOfNic) {
        sw = switchOfNic.get(nic);
      }
      if (side != Side.HOST) {
        ip(
            sw,
            "link",
            "set",
            switchPort,
            state); // every port of the host is named p-<host>, one per switch
      }
      if (side != Side.SWITCH) {
        ip(namespace, "link", "set", nic, state);
      }
    }

    @Override
    public String toString() {
      return "Host[" + name + " ns " + namespace + "]";
    }
  }
}
