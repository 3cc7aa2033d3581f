package dev.carpoperator.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code carp-agent manifest pod|config}: the files that put the kube-apiserver's address on CARP
 * (like {@code kube-vip manifest pod}). The agent then runs as a static pod: the kubelet starts it
 * from {@code /etc/kubernetes/manifests} with no API server, and it reads its standalone YAML from
 * a hostPath. The config checks the local API server's {@code /livez}, so a node whose API server
 * is down gives the address to one whose API server answers. See docs/control-plane.md.
 */
final class ControlPlaneManifest {
  /** The chart's agent image; the tag follows the project version like the chart's appVersion. */
  static final String DEFAULT_IMAGE = "ghcr.io/carp-operator/carp-agent:0.1.0";

  static final String CONFIG_DIR = "/etc/carp-operator";
  static final String CONFIG_FILE = "control-plane.yaml";
  static final String PASSWORD_FILE = "control-plane.pass";
  static final String RUNTIME_DIR = "/run/carp-operator-control-plane";

  /** What the user gives on the command line. */
  record Options(
      String node,
      String interfaceName,
      List<String> addresses,
      int vhid,
      int advskew,
      int advbase,
      int apiPort,
      String image,
      boolean passwordFile,
      Integer metricsPort,
      String configDir,
      String runtimeDir) {}

  private ControlPlaneManifest() {}

  /** Parses the flags after {@code manifest pod|config}; throws with a message naming the flag. */
  static Options parse(List<String> args) {
    String node = null;
    String ifName = null;
    List<String> addresses = new ArrayList<>();
    Integer vhid = null;
    int advskew = AgentLimits.ADVSKEW_DEFAULT;
    int advbase = AgentLimits.ADVBASE_DEFAULT;
    int apiPort = 6443;
    String image = DEFAULT_IMAGE;
    boolean password = true;
    Integer metricsPort = null;
    String configDir = CONFIG_DIR;
    String runtimeDir = RUNTIME_DIR;
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      if (flag.equals("--no-password")) {
        password = false;
        continue;
      }
      if (i + 1 >= args.size()) throw new IllegalArgumentException(flag + " needs a value");
      String value = args.get(++i);
      switch (flag) {
        case "--node" -> node = value;
        case "--interface" -> ifName = value;
        case "--address" -> addresses.add(value);
        case "--vhid" -> vhid = number(flag, value, AgentLimits.VHID_MIN, AgentLimits.VHID_MAX);
        case "--advskew" ->
            advskew = number(flag, value, AgentLimits.ADVSKEW_MIN, AgentLimits.ADVSKEW_MAX);
        case "--advbase" ->
            advbase = number(flag, value, AgentLimits.ADVBASE_BSD_MIN, AgentLimits.ADVBASE_MAX);
        case "--api-port" ->
            apiPort = number(flag, value, AgentLimits.PORT_MIN, AgentLimits.PORT_MAX);
        case "--image" -> image = value;
        case "--config-dir" -> configDir = absolute(flag, value);
        case "--runtime-dir" -> runtimeDir = absolute(flag, value);
        case "--metrics-port" ->
            metricsPort = number(flag, value, AgentLimits.PORT_MIN, AgentLimits.PORT_MAX);
        default -> throw new IllegalArgumentException("unknown flag " + flag);
      }
    }
    if (node == null) throw new IllegalArgumentException("--node NAME is required (this node)");
    if (ifName == null)
      throw new IllegalArgumentException("--interface NIC is required (the NIC of the address)");
    if (addresses.isEmpty())
      throw new IllegalArgumentException(
          "--address is required: the API server's address with its prefix, e.g. 192.0.2.50/24");
    if (vhid == null) throw new IllegalArgumentException("--vhid 1-255 is required");
    return new Options(
        node,
        ifName,
        addresses,
        vhid,
        advskew,
        advbase,
        apiPort,
        image,
        password,
        metricsPort,
        configDir,
        runtimeDir);
  }

  private static String absolute(String flag, String value) {
    if (!value.startsWith("/")) throw new IllegalArgumentException(flag + " must be absolute");
    return value.length() > 1 && value.endsWith("/")
        ? value.substring(0, value.length() - 1)
        : value;
  }

  private static int number(String flag, String value, int min, int max) {
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) return n;
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException(flag + " must be " + min + "-" + max + ", was " + value);
  }

  /** The agent's standalone YAML, for {@code /etc/carp-operator/control-plane.yaml}. */
  static String config(Options o) {
    Map<String, Object> check = new LinkedHashMap<>();
    check.put("name", "kube-apiserver");
    check.put(
        "http",
        map("scheme", "HTTPS", "port", o.apiPort(), "path", "/livez", "insecureSkipVerify", true));
    check.put("periodSeconds", 2);
    check.put("failureThreshold", 3);
    Map<String, Object> va = new LinkedHashMap<>();
    va.put("vhid", o.vhid());
    va.put("interface", o.interfaceName());
    va.put("addresses", o.addresses());
    va.put("advbase", o.advbase());
    va.put("advskew", o.advskew());
    if (o.passwordFile()) va.put("passwordFile", PASSWORD_FILE);
    va.put("healthChecks", List.of(check));
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("node", o.node());
    c.put("preempt", true);
    c.put("virtualAddresses", List.of(va));
    if (o.metricsPort() != null) {
      c.put("metricsPort", o.metricsPort());
      c.put("metricsAddress", "127.0.0.1");
    }
    c.put("runtimeDirectory", o.runtimeDir());
    return "# carp-agent standalone config for the kube-apiserver's address on "
        + o.node()
        + " (docs/control-plane.md)\n"
        + yaml(c);
  }

  /** The static Pod, for {@code /etc/kubernetes/manifests/carp-agent-control-plane.yaml}. */
  static String pod(Options o) {
    List<String> args = new ArrayList<>(List.of("--config", o.configDir() + "/" + CONFIG_FILE));
    Map<String, Object> container = new LinkedHashMap<>();
    container.put("name", "carp-agent");
    container.put("image", o.image());
    container.put("imagePullPolicy", "IfNotPresent");
    container.put("args", args);
    container.put(
        "securityContext",
        map(
            "capabilities",
            map("drop", List.of("ALL"), "add", List.of("NET_ADMIN", "NET_RAW")),
            "readOnlyRootFilesystem",
            true,
            "allowPrivilegeEscalation",
            false,
            "seccompProfile",
            map("type", "RuntimeDefault")));
    container.put(
        "resources",
        map(
            "requests", map("cpu", "50m", "memory", "96Mi"),
            "limits", map("memory", "192Mi")));
    container.put(
        "env",
        List.of(
            map(
                "name",
                "JAVA_TOOL_OPTIONS",
                "value",
                "-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData")));
    container.put(
        "volumeMounts",
        List.of(
            map("name", "config", "mountPath", o.configDir(), "readOnly", true),
            map("name", "runtime", "mountPath", o.runtimeDir())));
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put("hostNetwork", true);
    spec.put("priorityClassName", "system-node-critical");
    // Stops with a bow-out (the backup takes over at once); the JVM needs a moment.
    spec.put("terminationGracePeriodSeconds", 30);
    spec.put("containers", List.of(container));
    spec.put(
        "volumes",
        List.of(
            map("name", "config", "hostPath", map("path", o.configDir(), "type", "Directory")),
            map(
                "name",
                "runtime",
                "hostPath",
                map("path", o.runtimeDir(), "type", "DirectoryOrCreate"))));
    Map<String, Object> pod = new LinkedHashMap<>();
    pod.put("apiVersion", "v1");
    pod.put("kind", "Pod");
    pod.put(
        "metadata",
        map(
            "name", "carp-agent-control-plane",
            "namespace", "kube-system",
            "labels", map("app.kubernetes.io/name", "carp-agent-control-plane")));
    pod.put("spec", spec);
    return "# Static pod: put it in /etc/kubernetes/manifests on "
        + o.node()
        + ", with its config in "
        + o.configDir()
        + " (docs/control-plane.md)\n"
        + yaml(pod);
  }

  private static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  private static String yaml(Object o) {
    try {
      return new ObjectMapper(
              YAMLFactory.builder()
                  .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                  .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                  .build())
          .writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code carp-agent manifest ...}; returns the exit code. */
  static int run(List<String> args) {
    if (args.isEmpty() || !List.of("pod", "config").contains(args.getFirst())) {
      System.err.println(usage());
      return 2;
    }
    try {
      Options o = parse(args.subList(1, args.size()));
      System.out.print(args.getFirst().equals("pod") ? pod(o) : config(o));
      return 0;
    } catch (IllegalArgumentException e) {
      System.err.println("carp-agent manifest: " + e.getMessage());
      System.err.println(usage());
      return 2;
    }
  }

  static String usage() {
    return """
        usage: carp-agent manifest pod    --node NAME --interface NIC --address CIDR --vhid N [options]
               carp-agent manifest config --node NAME --interface NIC --address CIDR --vhid N [options]
          pod: the static Pod for /etc/kubernetes/manifests; config: its agent YAML for /etc/carp-operator/control-plane.yaml
          --address CIDR    the kube-apiserver's address with its prefix (repeat for IPv6)
          --advskew N       0-254 (default 0); give each control-plane node its own
          --advbase N       1-255 seconds (default 1)
          --api-port N      the local kube-apiserver's port for the /livez check (default 6443)
          --image REF       the agent image (default %s)
          --metrics-port N  serve metrics on 127.0.0.1:N
          --config-dir DIR  where the config and password live on the host (default /etc/carp-operator)
          --runtime-dir DIR the agent's record of the addresses it added (default /run/carp-operator-control-plane)
          --no-password     no CARP password (default: control-plane.pass beside the config)"""
        .formatted(DEFAULT_IMAGE);
  }
}
