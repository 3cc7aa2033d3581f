package dev.carpoperator.agent.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.carpoperator.agent.health.CheckSpec;
import dev.carpoperator.agent.linux.Balancing;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads and validates the standalone YAML; every problem is reported at once, each naming its
 * field.
 */
public final class ConfigLoader {
  private static final Pattern INTERFACE_NAME = Pattern.compile("[a-zA-Z0-9_.:@-]{1,15}");
  private static final Pattern IP_LITERAL = Pattern.compile("[0-9a-fA-F:.]+");
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  private static final List<String> BALANCING =
      Arrays.stream(Balancing.values()).map(Balancing::configName).toList();

  private ConfigLoader() {}

  public static AgentConfig load(Path file) throws ConfigException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(
          file.toString(), List.of("cannot read the file: " + e.getMessage()));
    }
    return parse(text, file.toString(), file.toAbsolutePath().getParent());
  }

  /** Parses YAML text; relative passwordFile paths resolve against {@code baseDir}. */
  public static AgentConfig parse(String yaml, String source, Path baseDir) throws ConfigException {
    if (yaml.isBlank()) throw new ConfigException(source, List.of("the file is empty"));
    AgentConfig config;
    try {
      config = YAML.readValue(yaml, AgentConfig.class);
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException(
          source,
          List.of(
              path(e)
                  + ": unknown key '"
                  + e.getPropertyName()
                  + "' (known keys here: "
                  + e.getKnownPropertyIds().stream()
                      .map(Object::toString)
                      .sorted()
                      .collect(Collectors.joining(", "))
                  + ")"));
    } catch (InvalidFormatException e) {
      throw new ConfigException(
          source,
          List.of(
              path(e)
                  + ": '"
                  + e.getValue()
                  + "' is not a valid "
                  + e.getTargetType().getSimpleName()));
    } catch (MismatchedInputException e) {
      throw new ConfigException(
          source,
          List.of(path(e) + ": wrong type (" + e.getOriginalMessage().split("\n")[0] + ")"));
    } catch (JsonProcessingException e) {
      // Some parser errors carry no location (found by ConfigFuzzTest: it threw a
      // NullPointerException here).
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
      throw new ConfigException(
          source, List.of("not valid YAML" + where + ": " + e.getOriginalMessage()));
    }
    if (config == null) throw new ConfigException(source, List.of("the file is empty"));
    List<String> problems = validate(config, baseDir);
    if (!problems.isEmpty()) throw new ConfigException(source, problems);
    return config;
  }

  private static final java.util.regex.Pattern HEALTH_CHECK_NAME =
      java.util.regex.Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

  static List<String> validate(AgentConfig c, Path baseDir) {
    List<String> p = new ArrayList<>();
    if (c.node() == null || c.node().isBlank())
      p.add("node: required (this host's name, as its peers and metrics will show it)");
    if (c.metricsPort() != null)
      checkRange(p, "metricsPort", c.metricsPort(), AgentLimits.PORT_MIN, AgentLimits.PORT_MAX);
    if (c.metricsAddress() != null && !isIpLiteral(c.metricsAddress())) {
      p.add(
          "metricsAddress: must be an IP address of this host (e.g. 192.0.2.1, ::1), got '"
              + c.metricsAddress()
              + "'");
    }
    if (!Set.of("json", "text").contains(c.logFormat()))
      p.add("logFormat: must be json or text, got '" + c.logFormat() + "'");
    checkRange(
        p,
        "demotion.maintenance",
        c.demotion().maintenance(),
        AgentLimits.DEMOTION_MIN,
        AgentLimits.DEMOTION_MAX);
    if (c.runtimeDirectory().isBlank() || !c.runtimeDirectory().startsWith("/")) {
      p.add(
          "runtimeDirectory: must be an absolute path (default "
              + AgentConfig.DEFAULT_RUNTIME_DIRECTORY
              + "), got '"
              + c.runtimeDirectory()
              + "'");
    }
    if (c.virtualAddresses().isEmpty()) p.add("virtualAddresses: at least one entry is required");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < c.virtualAddresses().size(); i++) {
      VirtualAddressConfig va = c.virtualAddresses().get(i);
      String at = "virtualAddresses[" + i + "]";
      if (va == null) {
        p.add(at + ": empty entry");
        continue;
      }
      boolean shared = !va.carpNodes().isEmpty();
      boolean interfaceOk =
          va.interfaceName() != null && INTERFACE_NAME.matcher(va.interfaceName()).matches();
      if (shared) {
        if (va.vhid() != -1)
          p.add(
              at
                  + ": set either vhid or carpNodes, not both: with load balancing each carpNodes entry carries its own vhid");
      } else if (!within(va.vhid(), AgentLimits.VHID_MIN, AgentLimits.VHID_MAX)) {
        p.add(
            at
                + ".vhid: required, "
                + range(AgentLimits.VHID_MIN, AgentLimits.VHID_MAX)
                + (va.vhid() == -1 ? "" : ", got " + va.vhid()));
      }
      if (va.interfaceName() == null)
        p.add(at + ".interface: required (the NIC that carries the addresses, e.g. eth0)");
      else if (!interfaceOk)
        p.add(at + ".interface: '" + va.interfaceName() + "' is not a Linux interface name");
      else if (!shared && !seen.add(va.interfaceName() + "/" + va.vhid()))
        p.add(at + ": vhid " + va.vhid() + " is configured twice on " + va.interfaceName());
      if (!Set.of("bsd", "fast").contains(va.profile()))
        p.add(at + ".profile: must be bsd or fast, got '" + va.profile() + "'");
      if (va.fastProfile()) {
        if (va.advbase() != AgentLimits.ADVBASE_FAST)
          p.add(
              at
                  + ".advbase: must be "
                  + AgentLimits.ADVBASE_FAST
                  + " with profile: fast (the interval is advskew/256 s)");
      } else if (!within(va.advbase(), AgentLimits.ADVBASE_BSD_MIN, AgentLimits.ADVBASE_MAX)) {
        p.add(
            at
                + ".advbase: must be "
                + range(AgentLimits.ADVBASE_BSD_MIN, AgentLimits.ADVBASE_MAX)
                + " seconds, got "
                + va.advbase()
                + (va.advbase() == AgentLimits.ADVBASE_FAST
                    ? " (0 is only for profile: fast)"
                    : ""));
      }
      if (!shared) {
        String problem = advskewProblem(va.fastProfile(), va.advskew());
        if (problem != null) p.add(at + ".advskew: " + problem);
      }
      validateBalancing(va, at, interfaceOk, seen, p);
      if (va.addresses().isEmpty())
        p.add(
            at
                + ".addresses: at least one address with prefix length is required, e.g. [\"192.0.2.100/24\"]");
      for (int j = 0; j < va.addresses().size(); j++) {
        String problem = checkPrefix(va.addresses().get(j));
        if (problem != null) p.add(at + ".addresses[" + j + "]: " + problem);
      }
      for (int j = 0; j < va.peers().size(); j++) {
        InetAddress peer = parseIp(va.peers().get(j));
        if (peer == null)
          p.add(
              at + ".peers[" + j + "]: '" + va.peers().get(j) + "' is not an IPv4 or IPv6 address");
        // As on OpenBSD, carppeer is for IPv4 adverts: IPv6 adverts always go to ff02::12.
        else if (!(peer instanceof java.net.Inet4Address))
          p.add(
              at
                  + ".peers["
                  + j
                  + "]: '"
                  + va.peers().get(j)
                  + "' is IPv6; unicast peers are IPv4 only (IPv6 adverts always go to ff02::12, as on OpenBSD)");
      }
      validateHealthChecks(va, at, p);
      if (va.password() != null && va.passwordFile() != null)
        p.add(at + ": set password or passwordFile, not both");
      if (va.passwordFile() != null) {
        Path f = baseDir == null ? Path.of(va.passwordFile()) : baseDir.resolve(va.passwordFile());
        if (!Files.isReadable(f)) p.add(at + ".passwordFile: cannot read " + f);
      }
    }
    ActionsValidator.validate(c, p); // actions and notifications
    if (c.sync() != null) validateSync(c.sync(), baseDir, p);
    return p;
  }

  private static void validateHealthChecks(VirtualAddressConfig va, String at, List<String> p) {
    if (va.healthChecks().size() > AgentLimits.HEALTH_CHECKS_MAX)
      p.add(at + ".healthChecks: at most " + AgentLimits.HEALTH_CHECKS_MAX + " checks");
    Set<String> names = new HashSet<>();
    for (int j = 0; j < va.healthChecks().size(); j++) {
      var check = va.healthChecks().get(j);
      String cat = at + ".healthChecks[" + j + "]";
      if (check == null) {
        p.add(cat + ": empty entry");
        continue;
      }
      try {
        CheckSpec spec = HealthCheckSpecs.of(check);
        if (!HEALTH_CHECK_NAME.matcher(spec.name()).matches())
          p.add(cat + ".name: '" + spec.name() + "' must be lower-case letters, digits and -");
        else if (!names.add(spec.name())) p.add(cat + ".name: " + spec.name() + " is listed twice");
      } catch (IllegalArgumentException e) {
        p.add(cat + ": " + e.getMessage());
      }
    }
  }

  private static void validateSync(SyncConfig s, Path baseDir, List<String> p) {
    if (s.interfaceName() == null)
      p.add("sync.interface: required (the link the firewalls sync over, ideally dedicated)");
    else if (!INTERFACE_NAME.matcher(s.interfaceName()).matches())
      p.add("sync.interface: '" + s.interfaceName() + "' is not a Linux interface name");
    for (int j = 0; j < s.peers().size(); j++) {
      InetAddress peer = parseIp(s.peers().get(j));
      if (peer == null)
        p.add("sync.peers[" + j + "]: '" + s.peers().get(j) + "' is not an IP address");
      else if (!(peer instanceof java.net.Inet4Address))
        p.add(
            "sync.peers["
                + j
                + "]: '"
                + s.peers().get(j)
                + "' is IPv6; sync peers are IPv4 (as OpenBSD's pfsync)");
    }
    if (!Set.of(SyncConfig.AUTHENTICATED, SyncConfig.BSD_COMPATIBLE).contains(s.mode())) {
      p.add("sync.mode: must be authenticated or bsd-compatible, got '" + s.mode() + "'");
    } else if (s.authenticated()) {
      if (s.keyFile() == null) {
        p.add(
            "sync.keyFile: required in authenticated mode (a file with a shared secret of at least 16 bytes, e.g. "
                + "head -c 32 /dev/urandom | base64 > sync.key); set sync.mode: bsd-compatible to run unauthenticated like pfsync");
      } else {
        Path f = baseDir == null ? Path.of(s.keyFile()) : baseDir.resolve(s.keyFile());
        try {
          long size = Files.size(f);
          if (!Files.isReadable(f)) p.add("sync.keyFile: cannot read " + f);
          else if (Files.readString(f, StandardCharsets.ISO_8859_1).strip().length() < 16)
            p.add("sync.keyFile: " + f + " holds fewer than 16 bytes of key (" + size + " bytes)");
        } catch (IOException e) {
          p.add("sync.keyFile: cannot read " + f + " (" + e.getMessage() + ")");
        }
      }
    } else {
      if (s.keyFile() != null)
        p.add(
            "sync.keyFile: bsd-compatible sync is unauthenticated; remove keyFile or use mode: authenticated");
      if (s.encrypt())
        p.add(
            "sync.encrypt: needs mode: authenticated (pfsync peers cannot read encrypted states)");
    }
    checkRange(
        p,
        "sync.bulkUpdateTimeoutSeconds",
        s.bulkUpdateTimeoutSeconds(),
        AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_MIN,
        AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_MAX);
    if (s.hostId() != null && (s.hostId() < 1 || s.hostId() > 0xffffffffL))
      p.add("sync.hostId: must be 1-4294967295, got " + s.hostId());
    checkRange(
        p,
        "sync.maxDelayMillis",
        s.maxDelayMillis(),
        AgentLimits.SYNC_MAX_DELAY_MILLIS_MIN,
        AgentLimits.SYNC_MAX_DELAY_MILLIS_MAX);
    checkRange(
        p,
        "sync.realtimePriority",
        s.realtimePriority(),
        AgentLimits.SYNC_REALTIME_PRIORITY_MIN,
        AgentLimits.SYNC_REALTIME_PRIORITY_MAX);
  }

  /**
   * balancing and carpNodes, as the CRD's rules (VirtualAddressSpec) plus what the Linux data plane
   * supports.
   */
  private static void validateBalancing(
      VirtualAddressConfig va, String at, boolean interfaceOk, Set<String> seen, List<String> p) {
    if (!BALANCING.contains(va.balancing())) {
      p.add(
          at
              + ".balancing: must be one of "
              + String.join(", ", BALANCING)
              + ", got '"
              + va.balancing()
              + "'");
      return;
    }
    boolean balanced = !Balancing.NONE.configName().equals(va.balancing());
    List<CarpNodeConfig> nodes = va.carpNodes();
    if (!balanced) {
      if (!nodes.isEmpty())
        p.add(
            at
                + ".carpNodes: only used for load balancing: set balancing to arp, ip, ip-stealth or ip-unicast");
      return;
    }
    if (nodes.size() < AgentLimits.CARP_NODES_MIN) {
      p.add(
          at
              + ".balancing: load balancing needs per-node vhids: list at least two carpNodes entries (OpenBSD carpnodes), one preferring each node");
    }
    if (nodes.size() > AgentLimits.CARP_NODES_MAX)
      p.add(
          at
              + ".carpNodes: at most "
              + AgentLimits.CARP_NODES_MAX
              + " entries (OpenBSD CARP_MAXNODES), got "
              + nodes.size());
    Set<Integer> vhids = new HashSet<>();
    for (int j = 0; j < nodes.size(); j++) {
      CarpNodeConfig n = nodes.get(j);
      String nat = at + ".carpNodes[" + j + "]";
      if (n == null) {
        p.add(nat + ": empty entry (write it like {vhid: 3, advskew: 0})");
        continue;
      }
      if (!within(n.vhid(), AgentLimits.VHID_MIN, AgentLimits.VHID_MAX))
        p.add(
            nat
                + ".vhid: required, "
                + range(AgentLimits.VHID_MIN, AgentLimits.VHID_MAX)
                + (n.vhid() == -1 ? "" : ", got " + n.vhid()));
      else if (!vhids.add(n.vhid()))
        p.add(nat + ".vhid: vhid " + n.vhid() + " is listed twice in carpNodes");
      else if (interfaceOk && !seen.add(va.interfaceName() + "/" + n.vhid()))
        p.add(nat + ".vhid: vhid " + n.vhid() + " is configured twice on " + va.interfaceName());
      String problem = advskewProblem(va.fastProfile(), va.advskew(n));
      if (problem != null) p.add(nat + ".advskew: " + problem);
    }
    for (int j = 0; j < va.addresses().size(); j++) {
      String a = va.addresses().get(j);
      // The shared MAC reaches clients through ARP answers; nothing rewrites neighbour
      // advertisements yet.
      if (a != null && a.contains(":")) {
        p.add(
            at
                + ".addresses["
                + j
                + "]: IPv6 addresses cannot be load-balanced yet (balancing works for IPv4 only); "
                + "put '"
                + a
                + "' in a virtual address with balancing: none");
      }
    }
  }

  /** What is wrong with an advskew for the profile, or null. */
  private static String advskewProblem(boolean fastProfile, int advskew) {
    int min = fastProfile ? AgentLimits.ADVSKEW_FAST_MIN : AgentLimits.ADVSKEW_MIN;
    if (within(advskew, min, AgentLimits.ADVSKEW_MAX)) return null;
    return "must be "
        + range(min, AgentLimits.ADVSKEW_MAX)
        + (fastProfile ? " with profile: fast" : "")
        + ", got "
        + advskew;
  }

  private static boolean within(long value, int min, int max) {
    return AgentLimits.within(value, min, max);
  }

  /** A range as the messages write it: "1-255". */
  private static String range(int min, int max) {
    return min + "-" + max;
  }

  /** Adds "FIELD: must be MIN-MAX, got VALUE" when the value is out of range. */
  static void checkRange(List<String> p, String field, long value, int min, int max) {
    if (!within(value, min, max)) p.add(field + ": must be " + range(min, max) + ", got " + value);
  }

  /** Returns a problem description, or null when {@code s} is an address with a prefix length. */
  static String checkPrefix(String s) {
    if (s == null) return "empty";
    int slash = s.indexOf('/');
    if (slash < 0)
      return "'" + s + "' has no prefix length: write it like 192.0.2.100/24 or 2001:db8::100/64";
    InetAddress addr = parseIp(s.substring(0, slash));
    if (addr == null) return "'" + s.substring(0, slash) + "' is not an IPv4 or IPv6 address";
    int max = addr.getAddress().length * 8;
    try {
      int len = Integer.parseInt(s.substring(slash + 1));
      if (len < 1 || len > max) return "prefix length of '" + s + "' must be 1-" + max;
    } catch (NumberFormatException e) {
      return "prefix length of '" + s + "' is not a number";
    }
    return null;
  }

  /** Parses an IP literal without ever doing a DNS lookup. */
  static InetAddress parseIp(String s) {
    if (s == null || s.isEmpty() || !IP_LITERAL.matcher(s).matches()) return null;
    if (s.contains(":") == false && s.chars().filter(ch -> ch == '.').count() != 3) return null;
    try {
      return InetAddress.ofLiteral(s);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static String path(MismatchedInputException e) {
    StringBuilder sb = new StringBuilder();
    for (var ref : e.getPath()) {
      if (ref.getFieldName() != null) sb.append(sb.isEmpty() ? "" : ".").append(ref.getFieldName());
      else sb.append('[').append(ref.getIndex()).append(']');
    }
    return sb.isEmpty() ? "(top level)" : sb.toString();
  }

  /**
   * The passphrase for a vhid: inline, from passwordFile (first line), or empty (OpenBSD's all-zero
   * key).
   */
  public static String password(VirtualAddressConfig va, Path baseDir) throws IOException {
    if (va.password() != null) return va.password();
    if (va.passwordFile() == null) return "";
    Path f = baseDir == null ? Path.of(va.passwordFile()) : baseDir.resolve(va.passwordFile());
    return Files.readAllLines(f, StandardCharsets.UTF_8).stream().findFirst().orElse("").strip();
  }

  /** An IPv4 or IPv6 literal (never a name: binding must not depend on DNS). */
  static boolean isIpLiteral(String s) {
    if (s.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
      for (String part : s.split("\\.")) if (Integer.parseInt(part) > 255) return false;
      return true;
    }
    if (!s.contains(":") || !s.matches("[0-9a-fA-F:.]+")) return false;
    try {
      return java.net.InetAddress.getByName(s) instanceof java.net.Inet6Address;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
