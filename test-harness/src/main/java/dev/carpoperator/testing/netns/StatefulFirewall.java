package dev.carpoperator.testing.netns;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The stateful routing firewall of the labs that route a client network to a server network through
 * CARP gateways (the agent's sync failover tests, the lab): nftables with forward policy drop,
 * established/related accepted, new connections only from the inside interface to the outside one
 * and only with a pure SYN (in the Kubernetes lab also those kube-proxy's DNAT sends on to a
 * Service's pod, and those to the node's own pods on its CNI bridge {@code cni0}), and {@code
 * nf_conntrack_tcp_loose=0}, so a mid-stream packet of a connection this firewall does not know is
 * INVALID and dropped: a backup passes the traffic of an existing connection only if the state sync
 * gave it the state. Named counters tell what was forwarded and dropped ({@link #counters}).
 */
public final class StatefulFirewall {
  /** The nftables table holding the filter chains and the counters. */
  public static final String TABLE = "carplab";

  public static final List<String> COUNTERS =
      List.of("fwd_established", "fwd_new", "drop_invalid", "drop_other", "in_invalid");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern CT_LINE =
      Pattern.compile(
          "^tcp\\s+\\d+\\s+\\d+\\s+(\\S+)\\s+src=(\\S+) dst=(\\S+) sport=(\\d+) dport=(\\d+)");

  private StatefulFirewall() {}

  /**
   * The ruleset; with {@code snatFrom} (a CIDR, or null for none) traffic from it leaving on {@code
   * outside} is translated to {@code snatTo} (snat to the virtual address, not masquerade:
   * masquerade would pick each firewall's own address and the state could not move).
   */
  public static String ruleset(String inside, String outside, String snatFrom, String snatTo) {
    String filter =
        """
        table inet %1$s {
          counter fwd_established {}
          counter fwd_new {}
          counter drop_invalid {}
          counter drop_other {}
          counter in_invalid {}
          chain forward {
            type filter hook forward priority filter; policy drop;
            ct state established,related counter name "fwd_established" accept
            ct state invalid counter name "drop_invalid" drop
            iifname "%2$s" oifname "%3$s" ct state new tcp flags & (syn | ack | fin | rst) == syn counter name "fwd_new" accept
            ct state new ct status dnat tcp flags & (syn | ack | fin | rst) == syn accept
            oifname "cni0" ct state new tcp flags & (syn | ack | fin | rst) == syn accept
            iifname "%2$s" oifname "%3$s" ct state new icmp type echo-request accept
            counter name "drop_other" drop
          }
          chain input {
            type filter hook input priority filter; policy accept;
            ct state invalid counter name "in_invalid" drop
          }
        }
        """
            .formatted(TABLE, inside, outside);
    if (snatFrom == null) return filter;
    return filter
        + """
        table ip %1$s_nat {
          chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
          }
          chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            oifname "%2$s" ip saddr %3$s snat ip to %4$s
          }
        }
        """
            .formatted(TABLE, outside, snatFrom, snatTo);
  }

  /**
   * Turns {@code host} into a router with {@code ruleset} (written to {@code
   * dir/<host>-ruleset.nft} and loaded).
   */
  public static void install(NetnsLab.Host host, Path dir, String ruleset) {
    host.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1").check();
    try {
      Path rules = dir.resolve(host.name() + "-ruleset.nft");
      Files.writeString(rules, ruleset);
      host.exec("nft", "-f", rules.toString()).check();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // after the ruleset: its ct expressions load conntrack, whose sysctls are per namespace
    host.exec(
            "sysctl",
            "-q",
            "-w",
            "net.netfilter.nf_conntrack_tcp_loose=0",
            "net.netfilter.nf_conntrack_tcp_be_liberal=0")
        .check();
  }

  /** The named counters of the host's table: name → packets (empty when the table is not there). */
  public static Map<String, Long> counters(NetnsLab.Host host) {
    ExecResult r = host.exec("nft", "-j", "list", "counters", "table", "inet", TABLE);
    Map<String, Long> out = new TreeMap<>();
    if (!r.ok()) return out;
    try {
      for (JsonNode n : JSON.readTree(r.stdout()).path("nftables")) {
        JsonNode c = n.get("counter");
        if (c != null) out.put(c.get("name").asText(), c.get("packets").asLong());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** One TCP conntrack entry: its state and the client's address and port (original direction). */
  public record CtEntry(String state, String src, int sport) {}

  /**
   * The host's conntrack entries of TCP connections to {@code server}:{@code port}, by client port.
   */
  public static Map<Integer, CtEntry> conntrack(NetnsLab.Host host, String server, int port) {
    ExecResult r = host.exec("conntrack", "-L", "-p", "tcp", "--dport", String.valueOf(port));
    Map<Integer, CtEntry> out = new TreeMap<>();
    for (String l : r.stdout().lines().toList()) {
      Matcher m = CT_LINE.matcher(l);
      if (m.find() && m.group(3).equals(server))
        out.put(
            Integer.parseInt(m.group(4)),
            new CtEntry(m.group(1), m.group(2), Integer.parseInt(m.group(4))));
    }
    return out;
  }
}
