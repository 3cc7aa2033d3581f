package dev.carpoperator.agent.linux;

import dev.carpoperator.agent.carp.VhidOrder;
import dev.carpoperator.agent.net.MacAddress;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeSet;

/**
 * Builds the nftables script for load sharing (pure, no I/O). The agent owns two tables, {@code
 * netdev carp_lb} (per-NIC ingress: which frames to the group's MACs this node accepts) and {@code
 * arp carp_lb} (who answers ARP for the shared addresses, and with which hardware address). Every
 * script recreates both tables in one transaction ({@code nft -f} is atomic), so an update never
 * leaves a half-written rule set and a crashed agent's leftovers are replaced. How each rule works
 * and why: docs/load-sharing.md.
 */
public final class LoadShareRules {
  public static final String TABLE = "carp_lb";

  /**
   * jhash seed for both bucket functions. Every node of a group must use the same one; nftables
   * would pick a random seed per rule if none were given, so it is always written out.
   */
  public static final int HASH_SEED = 0x43415250; // "CARP"

  private LoadShareRules() {}

  /**
   * One balanced group as this node sees it now.
   *
   * @param masters the vhids of the group this node is MASTER of
   * @param nodeAddress an IPv4 address of the NIC that is not a shared one (ARP mode rewrites the
   *     sender address of our own ARP requests to it); null if there is none
   */
  public record Group(
      String interfaceName,
      Balancing mode,
      VhidOrder order,
      List<Inet4Address> addresses,
      Set<Integer> masters,
      Inet4Address nodeAddress) {
    public Group {
      if (mode == Balancing.NONE) throw new IllegalArgumentException("balancing none has no rules");
      if (addresses.isEmpty())
        throw new IllegalArgumentException("a balanced group needs an IPv4 address");
      addresses = List.copyOf(addresses);
      masters = Set.copyOf(masters);
    }

    /** Hash buckets this node accepts: bucket i belongs to the i-th vhid in vhid order. */
    public Set<Integer> buckets() {
      Set<Integer> b = new TreeSet<>();
      for (int i = 0; i < order.count(); i++) if (masters.contains(order.vhidAt(i))) b.add(i);
      return b;
    }

    /** The MACs the NIC must accept for this group (added to its address filter). */
    public List<MacAddress> receiveMacs() {
      if (mode.splitsByAddress()) return List.of(mode.groupMac(order.leader()));
      List<MacAddress> macs = new ArrayList<>();
      for (int vhid : order.vhids()) macs.add(MacAddress.virtual(vhid));
      return macs;
    }
  }

  /** A script that removes both tables (they must exist: callers create them first). */
  public static String deleteScript() {
    return header();
  }

  /** The whole rule set for these groups. */
  public static String script(List<Group> groups) {
    StringBuilder sb = new StringBuilder(header());
    Map<String, List<Group>> byInterface = new LinkedHashMap<>();
    for (Group g : groups)
      byInterface.computeIfAbsent(g.interfaceName(), k -> new ArrayList<>()).add(g);

    sb.append("table netdev ").append(TABLE).append(" {\n");
    int n = 0;
    for (var e : byInterface.entrySet()) {
      // A netdev base chain is bound to one device; the name only has to be unique in the table.
      sb.append("  chain ingress").append(n++).append(" {\n");
      sb.append("    type filter hook ingress device \"")
          .append(e.getKey())
          .append("\" priority -300; policy accept;\n");
      for (Group g : e.getValue()) ingressRules(sb, g);
      sb.append("  }\n");
    }
    sb.append("}\n");

    sb.append("table arp ").append(TABLE).append(" {\n");
    sb.append("  chain input {\n    type filter hook input priority 0; policy accept;\n");
    for (Group g : groups) arpInputRules(sb, g);
    sb.append("  }\n");
    sb.append("  chain output {\n    type filter hook output priority 0; policy accept;\n");
    for (Group g : groups) arpOutputRules(sb, g);
    sb.append("  }\n}\n");
    return sb.toString();
  }

  private static String header() {
    // "table x" creates the table if missing, so the delete after it never fails: replace in one
    // transaction.
    return "table netdev "
        + TABLE
        + "\ndelete table netdev "
        + TABLE
        + "\n"
        + "table arp "
        + TABLE
        + "\ndelete table arp "
        + TABLE
        + "\n";
  }

  private static void ingressRules(StringBuilder sb, Group g) {
    sb.append("    # ").append(describe(g)).append('\n');
    if (g.mode().splitsByAddress()) {
      String mac = g.mode().groupMac(g.order().leader()).toString();
      // Only IPv4 and ARP are shared; anything else sent to the group MAC would reach every node.
      sb.append("    ether daddr ").append(mac).append(" ether type != { ip, arp } counter drop\n");
      Set<Integer> buckets = g.buckets();
      if (buckets.isEmpty()) {
        sb.append("    ether daddr ").append(mac).append(" ether type ip counter drop\n");
      } else if (buckets.size() < g.order().count()) {
        sb.append("    ether daddr ")
            .append(mac)
            .append(" jhash ip saddr . ip daddr mod ")
            .append(g.order().count())
            .append(" seed ")
            .append(seed())
            .append(" != ")
            .append(set(buckets))
            .append(" counter drop\n");
      }
      // The kernel marks frames to a MAC that is not the NIC's as multicast/other-host and IP would
      // drop them
      // (other-host always, multicast with drop_unicast_in_l2_multicast=1): what is left is ours.
      sb.append("    ether daddr ").append(mac).append(" counter meta pkttype set host\n");
    } else {
      // ARP mode: a client sends to the virtual MAC of its bucket's vhid; we take the frames of the
      // vhids we master.
      List<String> macs = new ArrayList<>();
      for (int vhid : g.order().vhids())
        if (g.masters().contains(vhid)) macs.add(MacAddress.virtual(vhid).toString());
      if (!macs.isEmpty())
        sb.append("    ether daddr ").append(set(macs)).append(" counter meta pkttype set host\n");
    }
  }

  private static void arpInputRules(StringBuilder sb, Group g) {
    String match =
        "    meta iifname \""
            + g.interfaceName()
            + "\" arp operation request arp daddr ip "
            + set(g.addresses().stream().map(Inet4Address::getHostAddress).toList());
    if (g.mode().splitsByAddress()) {
      // One answer per request, as OpenBSD: the master of the leader vhid answers (the reply is the
      // same from anyone).
      if (!g.masters().contains(g.order().leader())) sb.append(match).append(" counter drop\n");
      return;
    }
    Set<Integer> buckets = g.buckets();
    if (buckets.isEmpty()) {
      sb.append(match).append(" counter drop\n");
    } else if (buckets.size() < g.order().count()) {
      sb.append(match)
          .append(" jhash arp saddr ether mod ")
          .append(g.order().count())
          .append(" seed ")
          .append(seed())
          .append(" != ")
          .append(set(buckets))
          .append(" counter drop\n");
    }
  }

  private static void arpOutputRules(StringBuilder sb, Group g) {
    String from = "    meta oifname \"" + g.interfaceName() + "\"";
    String vips = set(g.addresses().stream().map(Inet4Address::getHostAddress).toList());
    if (g.mode().splitsByAddress()) {
      // Replies and our own requests from a shared address advertise the group MAC, never the
      // NIC's.
      sb.append(from)
          .append(" arp saddr ip ")
          .append(vips)
          .append(" arp saddr ether set ")
          .append(g.mode().groupMac(g.order().leader()))
          .append('\n');
      return;
    }
    // The reply names the virtual MAC of the requester's bucket (same hash as the input rule, over
    // the same MAC).
    StringJoiner map = new StringJoiner(", ", "{ ", " }");
    for (int i = 0; i < g.order().count(); i++)
      map.add(i + " : " + MacAddress.virtual(g.order().vhidAt(i)));
    sb.append(from)
        .append(" arp operation reply arp saddr ip ")
        .append(vips)
        .append(" arp saddr ether set jhash arp daddr ether mod ")
        .append(g.order().count())
        .append(" seed ")
        .append(seed())
        .append(" map ")
        .append(map)
        .append('\n');
    // A request from a shared address would make the asked host cache our real MAC for it, for
    // every bucket.
    if (g.nodeAddress() != null) {
      sb.append(from)
          .append(" arp operation request arp saddr ip ")
          .append(vips)
          .append(" arp saddr ip set ")
          .append(g.nodeAddress().getHostAddress())
          .append('\n');
    }
  }

  private static String describe(Group g) {
    return "balancing "
        + g.mode()
        + ", vhids "
        + java.util.Arrays.toString(g.order().vhids())
        + ", master here of "
        + new TreeSet<>(g.masters());
  }

  private static String seed() {
    return "0x" + Integer.toHexString(HASH_SEED);
  }

  private static String set(Iterable<?> items) {
    StringJoiner j = new StringJoiner(", ", "{ ", " }");
    for (Object o : items) j.add(o.toString());
    return j.toString();
  }
}
