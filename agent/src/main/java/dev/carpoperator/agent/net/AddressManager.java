package dev.carpoperator.agent.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Adds and removes virtual addresses and reads link state with iproute2's {@code ip}.
 *
 * <p>Address changes (the takeover path) go by default through one long-lived {@code ip -batch -}
 * process ({@link Mode#BATCH}): about 20 µs per change against about 2 ms for starting {@code ip}
 * per change, which is mostly the cost of starting a process (docs/address-takeover.md has the
 * figures). {@link Mode#PER_COMMAND} is the simple fallback. Reads ({@link #list}, {@link #link})
 * always start {@code ip -j}; they are not on the takeover path. Either way the error text is ip's
 * own.
 *
 * <p>IPv6 addresses are added with {@code nodad} (usable at once, no DAD delay on takeover) and
 * {@code preferred_lft 0} (deprecated, so the kernel does not pick the VIP as a source address).
 * {@link #add} and {@link #remove} are idempotent. Needs CAP_NET_ADMIN.
 */
public class AddressManager implements AddressChanges, AutoCloseable {
  /** How address changes are run. */
  public enum Mode {
    BATCH,
    PER_COMMAND
  }

  /**
   * One address on an interface. {@code deprecated}: preferred lifetime 0 (what {@link #add} sets
   * for IPv6).
   */
  public record IfAddress(InetAddress address, int prefixLength, boolean deprecated) {
    /** "192.0.2.10/24", "2001:db8::10/64" (RFC 5952 text, as ip prints it). */
    public String cidr() {
      return text(address) + "/" + prefixLength;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  // What deleting a missing address prints: extack "ipv4: Address not found." / "ipv6: address not
  // found." on current kernels, plain EADDRNOTAVAIL on older ones (compared in lower case).
  private static final List<String> NOT_PRESENT =
      List.of("cannot assign requested address", "address not found");

  private final List<String> ip;
  private final Duration timeout;
  private final IpBatch batch;

  /** RFC 5952 text: Java's getHostAddress() never compresses zero groups in IPv6. */
  static String text(InetAddress a) {
    byte[] b = a.getAddress();
    if (b.length == 4) {
      return a.getHostAddress();
    }
    int[] g = new int[8];
    for (int i = 0; i < 8; i++) {
      g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 1; // a single zero group is not compressed
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && g[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        sb.append("::");
        i += bestLen - 1;
        continue;
      }
      if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
        sb.append(':');
      }
      sb.append(Integer.toHexString(g[i]));
    }
    return sb.toString();
  }

  /**
   * @param adminUp IFF_UP ({@code ip link set up})
   * @param lowerUp carrier present (IFF_LOWER_UP)
   * @param operState kernel operstate, e.g. UP, DOWN, LOWERLAYERDOWN, UNKNOWN
   */
  public record LinkState(
      String name,
      int index,
      boolean adminUp,
      boolean lowerUp,
      String operState,
      MacAddress mac,
      int mtu) {}

  /**
   * Runs {@code ip} from PATH in the current network namespace, batch mode, 5 s timeout per
   * command.
   */
  public AddressManager() {
    this(List.of("ip"), Duration.ofSeconds(5), Mode.BATCH);
  }

  /**
   * {@code ipCommand} is the command prefix, e.g. {@code ["ip", "-n", "lab-ns"]} to act on another
   * namespace.
   */
  public AddressManager(List<String> ipCommand, Duration timeout, Mode mode) {
    this.ip = List.copyOf(ipCommand);
    this.timeout = timeout;
    this.batch = mode == Mode.BATCH ? new IpBatch(ipCommand, timeout) : null;
  }

  /** Ends the batch process, if any. The manager must not be used afterwards. */
  @Override
  public void close() {
    if (batch != null) {
      batch.close();
    }
  }

  /** Runs an address change; returns null on success, else ip's error text. */
  private String change(String... args) throws IOException {
    if (batch != null) {
      return batch.run(String.join(" ", args));
    }
    Result r = run(ip(args));
    return r.exit == 0 ? null : r.stderr.strip();
  }

  private List<String> ip(String... args) {
    List<String> cmd = new ArrayList<>(ip);
    cmd.addAll(List.of(args));
    return cmd;
  }

  /**
   * Adds {@code cidr} (e.g. "192.0.2.10/24", "2001:db8::10/64"; no prefix means /32 or /128).
   * Idempotent.
   */
  @Override
  public void add(String ifName, String cidr) throws IOException {
    String c = normalise(cidr);
    String error =
        c.contains(":")
            ? change(
                "addr",
                "replace",
                c,
                "dev",
                checkName(ifName),
                "nodad",
                "preferred_lft",
                "0",
                "valid_lft",
                "forever")
            : change("addr", "replace", c, "dev", checkName(ifName));
    if (error != null) {
      throw new AddressException("cannot add " + c + " to " + ifName + ": " + error);
    }
  }

  /** Removes {@code cidr}; an address that is not there is not an error. */
  @Override
  public void remove(String ifName, String cidr) throws IOException {
    String c = normalise(cidr);
    String error = change("addr", "del", c, "dev", checkName(ifName));
    if (error != null && NOT_PRESENT.stream().noneMatch(error.toLowerCase(Locale.ROOT)::contains)) {
      throw new AddressException("cannot remove " + c + " from " + ifName + ": " + error);
    }
  }

  /** Every address on the interface, both families, link-local included. */
  public List<IfAddress> list(String ifName) throws IOException {
    JsonNode dev = showOne(ip("-j", "addr", "show", "dev", ifName), ifName);
    List<IfAddress> out = new ArrayList<>();
    for (JsonNode a : dev.path("addr_info")) {
      String local = a.path("local").asText("");
      if (local.isEmpty()) {
        continue;
      }
      out.add(
          new IfAddress(
              literal(local),
              a.path("prefixlen").asInt(),
              a.has("preferred_life_time") && a.path("preferred_life_time").asLong(-1) == 0));
    }
    return out;
  }

  /** True if {@code address} (without prefix) is on the interface with any prefix length. */
  public boolean has(String ifName, String address) throws IOException {
    InetAddress wanted =
        literal(address.contains("/") ? address.substring(0, address.indexOf('/')) : address);
    return list(ifName).stream().anyMatch(a -> a.address().equals(wanted));
  }

  /**
   * Adds (replaces) a route: {@code ip route replace DEST [via VIA] [dev IF]}; idempotent. {@code
   * via} and {@code ifName} may be null, not both.
   */
  public void addRoute(String destination, String via, String ifName) throws IOException {
    String error = change(routeArgs("replace", destination, via, ifName));
    if (error != null) {
      throw new AddressException("cannot add the route " + destination + ": " + error);
    }
  }

  /** Removes a route; a route that is not there is not an error. */
  public void removeRoute(String destination, String via, String ifName) throws IOException {
    String error = change(routeArgs("del", destination, via, ifName));
    // deleting a missing route: ESRCH, "No such process"
    if (error != null && !error.toLowerCase(Locale.ROOT).contains("no such process")) {
      throw new AddressException("cannot remove the route " + destination + ": " + error);
    }
  }

  private static String[] routeArgs(String verb, String destination, String via, String ifName) {
    if (destination == null || !destination.strip().matches("[0-9a-fA-F:.]+/[0-9]{1,3}")) {
      throw new IllegalArgumentException("not a prefix: " + destination);
    }
    if (via == null && ifName == null) {
      throw new IllegalArgumentException("a route needs via, an interface or both");
    }
    List<String> args = new ArrayList<>(List.of("route", verb, destination.strip()));
    if (via != null) {
      if (!via.strip().matches("[0-9a-fA-F:.]+")) {
        throw new IllegalArgumentException("not an IP address literal: " + via);
      }
      args.addAll(List.of("via", via.strip()));
    }
    if (ifName != null) {
      args.addAll(List.of("dev", checkName(ifName)));
    }
    return args.toArray(String[]::new);
  }

  public void setLinkUp(String ifName, boolean up) throws IOException {
    Result r = run(ip("link", "set", "dev", ifName, up ? "up" : "down"));
    if (r.exit != 0) {
      throw new AddressException(
          "cannot set " + ifName + (up ? " up" : " down") + ": " + r.stderr.strip());
    }
  }

  public LinkState link(String ifName) throws IOException {
    JsonNode dev = showOne(ip("-j", "link", "show", "dev", ifName), ifName);
    List<String> flags = new ArrayList<>();
    dev.path("flags").forEach(f -> flags.add(f.asText()));
    String mac = dev.path("address").asText("");
    return new LinkState(
        dev.path("ifname").asText(ifName),
        dev.path("ifindex").asInt(),
        flags.contains("UP"),
        flags.contains("LOWER_UP"),
        dev.path("operstate").asText("UNKNOWN"),
        mac.matches("\\p{XDigit}{2}(:\\p{XDigit}{2}){5}") ? MacAddress.parse(mac) : null,
        dev.path("mtu").asInt());
  }

  private JsonNode showOne(List<String> cmd, String ifName) throws IOException {
    Result r = run(cmd);
    if (r.exit != 0) {
      throw new AddressException("cannot read " + ifName + ": " + r.stderr.strip());
    }
    JsonNode root = JSON.readTree(r.stdout);
    if (!root.isArray() || root.isEmpty()) {
      throw new AddressException("cannot read " + ifName + ": ip printed no interface");
    }
    return root.get(0);
  }

  /**
   * Interface names go into a batch line: no spaces or control characters, at most 15 bytes
   * (IFNAMSIZ-1).
   */
  static String checkName(String ifName) {
    if (ifName == null || !ifName.matches("[A-Za-z0-9_.@:-]{1,15}")) {
      throw new IllegalArgumentException("not an interface name: " + ifName);
    }
    return ifName;
  }

  static String normalise(String cidr) {
    String s = cidr.strip();
    int slash = s.indexOf('/');
    String addr = slash < 0 ? s : s.substring(0, slash);
    if (!addr.matches("[0-9a-fA-F:.]+") || !s.matches("[0-9a-fA-F:.]+(/[0-9]{1,3})?")) {
      throw new IllegalArgumentException("not an IP address literal: " + cidr);
    }
    if (slash >= 0) {
      return s;
    }
    return s + (s.contains(":") ? "/128" : "/32");
  }

  private static InetAddress literal(String s) throws IOException {
    if (!s.matches("[0-9a-fA-F:.]+")) {
      throw new AddressException("not an address literal: " + s);
    }
    return InetAddress.getByName(s); // a literal: never a DNS lookup
  }

  private record Result(int exit, String stdout, String stderr) {}

  private Result run(List<String> cmd) throws IOException {
    Process p =
        new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    CompletableFuture<String> err =
        CompletableFuture.supplyAsync(
            () -> readAll(p.getErrorStream()), Thread::startVirtualThread);
    try {
      String out = readAll(p.getInputStream());
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new AddressException(String.join(" ", cmd) + ": no answer within " + timeout);
      }
      return new Result(p.exitValue(), out, err.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new AddressException(String.join(" ", cmd) + ": interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new AddressException(String.join(" ", cmd) + ": cannot read its error output", e);
    }
  }

  private static String readAll(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
