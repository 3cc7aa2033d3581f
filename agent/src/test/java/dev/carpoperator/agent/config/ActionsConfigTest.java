package dev.carpoperator.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.actions.Action;
import dev.carpoperator.agent.actions.ActionPlan;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ActionsConfigTest {
  static final String BASE =
      """
      node: fw1
      virtualAddresses:
        - vhid: 10
          interface: eth0
          addresses: ["198.51.100.10/24"]
      """;

  /** The bridging example of docs/actions.md, with every kind of action and the webhook. */
  static final String BRIDGE =
      BASE
          + """
      actions:
        onStartup:
          - link: {name: br0, state: down}
        onMaster:
          - link: {name: br0, state: up}
          - address: {interface: br0, address: "192.0.2.250/24"}
          - route: {destination: "203.0.113.0/24", via: "192.0.2.254"}
          - command: {run: ["/usr/local/bin/carp-notify", "--master"], timeoutSeconds: 5}
        onBackup:
          - link: {name: br0, state: down}
          - address: {interface: br0, address: "192.0.2.250/24", present: false}
          - route: {destination: "203.0.113.0/24", interface: br0, present: false}
      notifications:
        webhook: {url: "http://127.0.0.1:9000/carp", timeoutSeconds: 2, retries: 5}
      """;

  @Test
  void theBridgingExampleParsesIntoAPlan() throws Exception {
    AgentConfig c = ConfigLoader.parse(BRIDGE, "test", null);
    ActionPlan plan = ActionPlan.of(c.actions());
    assertThat(plan.onStartup()).containsExactly(new Action.Link("br0", false));
    assertThat(plan.onMaster())
        .containsExactly(
            new Action.Link("br0", true),
            new Action.Address("br0", "192.0.2.250/24", true),
            new Action.Route("203.0.113.0/24", "192.0.2.254", null, true),
            new Action.Command(
                java.util.List.of("/usr/local/bin/carp-notify", "--master"),
                Duration.ofSeconds(5)));
    assertThat(plan.onBackup())
        .containsExactly(
            new Action.Link("br0", false),
            new Action.Address("br0", "192.0.2.250/24", false),
            new Action.Route("203.0.113.0/24", null, "br0", false));
    assertThat(plan.vhid()).isNull();
    assertThat(plan.handoverDelay()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.notifications().webhook().url()).isEqualTo("http://127.0.0.1:9000/carp");
    assertThat(c.notifications().webhook().timeoutSeconds()).isEqualTo(2);
    assertThat(c.notifications().webhook().retries()).isEqualTo(5);
  }

  @Test
  void withoutTheSectionsNothingRunsAndDefaultsApply() throws Exception {
    AgentConfig c = ConfigLoader.parse(BASE, "test", null);
    assertThat(c.actions().isEmpty()).isTrue();
    assertThat(c.notifications().webhook()).isNull();
    AgentConfig w =
        ConfigLoader.parse(
            BASE
                + "notifications: {webhook: {url: \"https://192.0.2.50/hook\"}}\n"
                + "actions: {onMaster: [{command: {run: [/bin/true]}}]}\n",
            "test",
            null);
    assertThat(w.notifications().webhook().timeoutSeconds()).isEqualTo(5);
    assertThat(w.notifications().webhook().retries()).isEqualTo(3);
    assertThat(w.actions().onMaster().getFirst().command().timeoutSeconds()).isEqualTo(10);
  }

  @Test
  void everyBadActionIsNamedByItsField() {
    String bad =
        BASE
            + """
        actions:
          vhid: 11
          handoverDelayMillis: -1
          onStartup:
            - link: {name: "br 0", state: sideways}
          onMaster:
            - {}
            - link: {name: br0, state: up}
              address: {interface: br0, address: "192.0.2.1/24"}
            - address: {interface: br0, address: "192.0.2.1"}
            - route: {destination: "203.0.113.0/24", via: "2001:db8::1"}
            - route: {destination: "203.0.113.0/33"}
            - command: {run: ["carp-notify"], timeoutSeconds: 0}
            - command: {run: []}
        notifications:
          webhook: {url: "ftp://192.0.2.50/x", timeoutSeconds: 0, retries: 11}
        """;
    assertThatThrownBy(() -> ConfigLoader.parse(bad, "agent.yaml", null))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .containsExactlyInAnyOrder(
                        "actions.vhid: 11 is not one of the configured vhids [10]",
                        "actions.handoverDelayMillis: must be 0-60000, got -1",
                        "actions.onStartup[0].link.name: 'br 0' is not a Linux interface name",
                        "actions.onStartup[0].link.state: must be up or down, got 'sideways'",
                        "actions.onMaster[0]: set exactly one of link, address, route or command, got 0",
                        "actions.onMaster[1]: set exactly one of link, address, route or command, got 2",
                        "actions.onMaster[2].address.address: '192.0.2.1' has no prefix length: write it like 192.0.2.100/24 or 2001:db8::100/64",
                        "actions.onMaster[3].route.via: '2001:db8::1' is not of the destination's address family",
                        "actions.onMaster[4].route.destination: '203.0.113.0/33' is not a prefix such as 198.51.100.0/24, 0.0.0.0/0 or 2001:db8::/32",
                        "actions.onMaster[4].route: set via, interface or both",
                        "actions.onMaster[5].command.run[0]: give the program's absolute path (it is run without a shell and without a PATH lookup), got 'carp-notify'",
                        "actions.onMaster[5].command.timeoutSeconds: must be 1-300, got 0",
                        "actions.onMaster[6].command.run: required, the program and its arguments, e.g. [\"/usr/local/bin/notify-carp\", \"--quiet\"]",
                        "notifications.webhook.url: 'ftp://192.0.2.50/x' must be an absolute http:// or https:// URL with a host",
                        "notifications.webhook.timeoutSeconds: must be 1-60, got 0",
                        "notifications.webhook.retries: must be 0-10, got 11"));
  }

  @Test
  void unknownActionKeysAreRefused() {
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    BASE + "actions: {onMaster: [{link: {name: br0, state: up, mtu: 9000}}]}\n",
                    "agent.yaml",
                    null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("actions.onMaster[0].link.mtu: unknown key 'mtu'");
    assertThatThrownBy(
            () -> ConfigLoader.parse(BASE + "actions: {onFailover: []}\n", "agent.yaml", null))
        .hasMessageContaining("unknown key 'onFailover'");
  }

  @Test
  void loadSharingNeedsTheVhidThatDrivesTheActions() throws Exception {
    String shared =
        """
        node: fw1
        virtualAddresses:
          - interface: eth0
            addresses: ["192.0.2.200/24"]
            balancing: ip
            carpNodes: [{vhid: 3, advskew: 0}, {vhid: 4, advskew: 100}]
        actions:
          onMaster: [{link: {name: br0, state: up}}]
        """;
    assertThatThrownBy(() -> ConfigLoader.parse(shared, "agent.yaml", null))
        .hasMessageContaining("actions.vhid: required with load sharing");
    assertThat(
            ConfigLoader.parse(shared.replace("actions:\n", "actions:\n  vhid: 4\n"), "test", null)
                .actions()
                .vhid())
        .isEqualTo(4);
  }

  @Test
  void defaultRouteAndIpv6AreAccepted() throws Exception {
    AgentConfig c =
        ConfigLoader.parse(
            BASE
                + """
        actions:
          onMaster:
            - route: {destination: "0.0.0.0/0", via: "198.51.100.1"}
            - route: {destination: "2001:db8::/32", via: "2001:db8:1::1", interface: eth0}
        """,
            "test",
            null);
    assertThat(ActionPlan.of(c.actions()).onMaster()).hasSize(2);
  }
}
