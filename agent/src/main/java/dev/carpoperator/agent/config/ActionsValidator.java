package dev.carpoperator.agent.config;

import dev.carpoperator.agent.config.ActionsConfig.ActionConfig;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks {@code actions} and {@code notifications}, in ConfigLoader's style: every problem named by
 * its field.
 */
final class ActionsValidator {
  private static final Pattern INTERFACE_NAME = Pattern.compile("[a-zA-Z0-9_.:@-]{1,15}");

  /** As the CRD's ActionsSpec (maxItems 32). */
  static final int MAX_ACTIONS = 32;

  private ActionsValidator() {}

  static void validate(AgentConfig c, List<String> p) {
    ActionsConfig a = c.actions();
    Set<Integer> vhids = new HashSet<>();
    boolean loadShared = false;
    for (VirtualAddressConfig va : c.virtualAddresses()) {
      if (va == null) continue;
      if (va.carpNodes().isEmpty()) vhids.add(va.vhid());
      else {
        loadShared = true;
        va.carpNodes()
            .forEach(
                n -> {
                  if (n != null) vhids.add(n.vhid());
                });
      }
    }
    if (a.vhid() != null && !vhids.contains(a.vhid())) {
      p.add(
          "actions.vhid: "
              + a.vhid()
              + " is not one of the configured vhids "
              + new java.util.TreeSet<>(vhids));
    }
    // With load sharing every node is normally master of some vhid: "any vhid MASTER" would be true
    // on all of them.
    if (a.vhid() == null && loadShared && !(a.onMaster().isEmpty() && a.onBackup().isEmpty())) {
      p.add(
          "actions.vhid: required with load sharing (carpNodes): every node is master of one of the vhids, so name the vhid whose state the actions follow");
    }
    if (a.handoverDelayMillis() < 0 || a.handoverDelayMillis() > 60_000) {
      p.add("actions.handoverDelayMillis: must be 0-60000, got " + a.handoverDelayMillis());
    }
    list("actions.onStartup", a.onStartup(), p);
    list("actions.onMaster", a.onMaster(), p);
    list("actions.onBackup", a.onBackup(), p);

    var hook = c.notifications().webhook();
    if (hook != null) {
      String at = "notifications.webhook";
      String urlProblem = WebhookUrl.problem(hook.url());
      if (urlProblem != null) p.add(at + ".url: " + urlProblem);
      ConfigLoader.checkRange(
          p,
          at + ".timeoutSeconds",
          hook.timeoutSeconds(),
          AgentLimits.WEBHOOK_TIMEOUT_SECONDS_MIN,
          AgentLimits.WEBHOOK_TIMEOUT_SECONDS_MAX);
      ConfigLoader.checkRange(
          p,
          at + ".retries",
          hook.retries(),
          AgentLimits.WEBHOOK_RETRIES_MIN,
          AgentLimits.WEBHOOK_RETRIES_MAX);
    }
  }

  private static void list(String at, List<ActionConfig> actions, List<String> p) {
    if (actions.size() > MAX_ACTIONS)
      p.add(at + ": at most " + MAX_ACTIONS + " actions, got " + actions.size());
    for (int i = 0; i < actions.size(); i++) one(at + "[" + i + "]", actions.get(i), p);
  }

  private static void one(String at, ActionConfig a, List<String> p) {
    if (a == null) {
      p.add(at + ": empty entry (write it like {link: {name: br0, state: down}})");
      return;
    }
    int set =
        (a.link() != null ? 1 : 0)
            + (a.address() != null ? 1 : 0)
            + (a.route() != null ? 1 : 0)
            + (a.command() != null ? 1 : 0);
    if (set != 1) {
      p.add(at + ": set exactly one of link, address, route or command, got " + set);
      return;
    }
    if (a.link() != null) {
      interfaceName(at + ".link.name", a.link().name(), true, p);
      if (!"up".equals(a.link().state()) && !"down".equals(a.link().state())) {
        p.add(
            at
                + ".link.state: must be up or down, got "
                + (a.link().state() == null ? "nothing" : "'" + a.link().state() + "'"));
      }
    } else if (a.address() != null) {
      interfaceName(at + ".address.interface", a.address().interfaceName(), true, p);
      if (a.address().address() == null)
        p.add(at + ".address.address: required, an address with prefix length, e.g. 192.0.2.1/24");
      else {
        String problem = ConfigLoader.checkPrefix(a.address().address());
        if (problem != null) p.add(at + ".address.address: " + problem);
      }
    } else if (a.route() != null) {
      route(at + ".route", a.route(), p);
    } else {
      command(at + ".command", a.command(), p);
    }
  }

  private static void route(String at, ActionsConfig.RouteConfig r, List<String> p) {
    InetAddress dest = null;
    if (r.destination() == null)
      p.add(at + ".destination: required, a prefix such as 198.51.100.0/24 or 0.0.0.0/0");
    else {
      int slash = r.destination().indexOf('/');
      dest = slash < 0 ? null : ConfigLoader.parseIp(r.destination().substring(0, slash));
      Integer len = slash < 0 ? null : parseInt(r.destination().substring(slash + 1));
      if (dest == null || len == null || len < 0 || len > dest.getAddress().length * 8) {
        p.add(
            at
                + ".destination: '"
                + r.destination()
                + "' is not a prefix such as 198.51.100.0/24, 0.0.0.0/0 or 2001:db8::/32");
        dest = null;
      }
    }
    if (r.via() != null) {
      InetAddress via = ConfigLoader.parseIp(r.via());
      if (via == null) p.add(at + ".via: '" + r.via() + "' is not a plain IPv4 or IPv6 address");
      else if (dest != null && (via instanceof Inet4Address) != (dest instanceof Inet4Address)) {
        p.add(at + ".via: '" + r.via() + "' is not of the destination's address family");
      }
    }
    interfaceName(at + ".interface", r.interfaceName(), false, p);
    if (r.via() == null && r.interfaceName() == null) p.add(at + ": set via, interface or both");
  }

  private static void command(String at, ActionsConfig.CommandConfig c, List<String> p) {
    if (c.run().isEmpty())
      p.add(
          at
              + ".run: required, the program and its arguments, e.g. [\"/usr/local/bin/notify-carp\", \"--quiet\"]");
    else if (c.run().get(0) == null || !c.run().get(0).startsWith("/")) {
      p.add(
          at
              + ".run[0]: give the program's absolute path (it is run without a shell and without a PATH lookup), got '"
              + c.run().get(0)
              + "'");
    }
    for (int i = 0; i < c.run().size(); i++)
      if (c.run().get(i) == null) p.add(at + ".run[" + i + "]: empty argument");
    if (c.timeoutSeconds() < 1 || c.timeoutSeconds() > 300)
      p.add(at + ".timeoutSeconds: must be 1-300, got " + c.timeoutSeconds());
  }

  private static void interfaceName(String at, String name, boolean required, List<String> p) {
    if (name == null) {
      if (required) p.add(at + ": required (an interface name, e.g. br0)");
    } else if (!INTERFACE_NAME.matcher(name).matches())
      p.add(at + ": '" + name + "' is not a Linux interface name");
  }

  private static Integer parseInt(String s) {
    try {
      return s.matches("[0-9]{1,3}") ? Integer.parseInt(s) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
