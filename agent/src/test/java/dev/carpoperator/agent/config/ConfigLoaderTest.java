package dev.carpoperator.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  /** Exactly the keys the issue documents for the standalone agent. */
  static final String DOCUMENTED =
      """
      node: fw0
      preempt: true
      virtualAddresses:
        - vhid: 1
          interface: eth0
          addresses: ["192.0.2.100/24"]
          advbase: 1
          advskew: 0
          password: "secret"        # or passwordFile: /path/to/file
      metricsPort: 9402             # optional: Prometheus metrics on this port
      """;

  @Test
  void theDocumentedExampleParses() throws Exception {
    AgentConfig c = ConfigLoader.parse(DOCUMENTED, "test", null);
    assertThat(c.node()).isEqualTo("fw0");
    assertThat(c.preempt()).isTrue();
    assertThat(c.metricsPort()).isEqualTo(9402);
    VirtualAddressConfig va = c.virtualAddresses().getFirst();
    assertThat(va.vhid()).isEqualTo(1);
    assertThat(va.interfaceName()).isEqualTo("eth0");
    assertThat(va.addresses()).containsExactly("192.0.2.100/24");
    assertThat(va.advbase()).isEqualTo(1);
    assertThat(va.advskew()).isZero();
    assertThat(ConfigLoader.password(va, null)).isEqualTo("secret");
  }

  @Test
  void passwordFileIsReadRelativeToTheConfig(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("carp.pass"), "from-file\n");
    Path cfg = dir.resolve("agent.yaml");
    Files.writeString(cfg, DOCUMENTED.replace("password: \"secret\"", "passwordFile: carp.pass"));
    AgentConfig c = ConfigLoader.load(cfg);
    assertThat(ConfigLoader.password(c.virtualAddresses().getFirst(), dir)).isEqualTo("from-file");
  }

  @Test
  void defaultsMatchOpenBsd() throws Exception {
    AgentConfig c =
        ConfigLoader.parse(
            """
        node: fw1
        virtualAddresses: [{vhid: 7, interface: eth1, addresses: ["2001:db8::7/64"]}]
        """,
            "test",
            null);
    assertThat(c.preempt()).isFalse();
    assertThat(c.virtualAddresses().getFirst().advbase()).isEqualTo(1);
    assertThat(c.virtualAddresses().getFirst().advskew()).isZero();
    assertThat(c.metricsPort()).isNull();
  }

  @Test
  void healthChecksParseWithTheirDefaultsAndBadOnesAreNamed() throws Exception {
    AgentConfig c =
        ConfigLoader.parse(
            """
        node: fw1
        virtualAddresses:
          - vhid: 7
            interface: eth1
            addresses: ["192.0.2.7/24"]
            healthChecks:
              - name: proxy
                http: {port: 10256, path: /healthz}
              - name: db
                tcp: {host: 192.0.2.50, port: 5432}
                periodSeconds: 5
                weight: 20
        """,
            "test",
            null);
    var checks = c.virtualAddresses().getFirst().addressChecks();
    assertThat(checks.key()).isEqualTo("vhid 7");
    assertThat(checks.vhids()).containsExactly(7);
    assertThat(checks.checks().getFirst())
        .isEqualTo(
            new dev.carpoperator.agent.health.CheckSpec(
                "proxy",
                new dev.carpoperator.agent.health.CheckSpec.Http(
                    false, "127.0.0.1", 10256, "/healthz", false),
                2000,
                1000,
                3,
                1,
                1));
    assertThat(checks.checks().getLast().periodMillis()).isEqualTo(5000);
    assertThat(checks.checks().getLast().weight()).isEqualTo(20);

    String bad =
        """
        node: fw1
        virtualAddresses:
          - vhid: 7
            interface: eth1
            addresses: ["192.0.2.7/24"]
            healthChecks:
              - name: both
                tcp: {port: 1}
                http: {port: 2}
              - name: noport
                tcp: {}
              - name: heavy
                tcp: {port: 3}
                weight: 300
              - name: Bad_Name
                tcp: {port: 4}
              - name: fine
                tcp: {port: 5}
              - name: fine
                tcp: {port: 6}
        """;
    assertThatThrownBy(() -> ConfigLoader.parse(bad, "test", null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("healthChecks[0]: health check both: set exactly one of tcp and http")
        .hasMessageContaining("healthChecks[1]: health check noport: a port is required")
        .hasMessageContaining("healthChecks[2]: health check heavy: weight must be 1-255, was 300")
        .hasMessageContaining("healthChecks[3].name: 'Bad_Name' must be lower-case")
        .hasMessageContaining("healthChecks[5].name: fine is listed twice");
  }

  @Test
  void metricsAddressMustBeAnIpLiteral() throws Exception {
    assertThat(ConfigLoader.parse(withMetricsAddress("192.0.2.1"), "t", null).metricsAddress())
        .isEqualTo("192.0.2.1");
    assertThat(
            ConfigLoader.parse(withMetricsAddress("\"2001:db8::1\""), "t", null).metricsAddress())
        .isEqualTo("2001:db8::1");
    assertThat(ConfigLoader.parse(DOCUMENTED, "t", null).metricsAddress()).isNull();
    assertThatThrownBy(() -> ConfigLoader.parse(withMetricsAddress("firewall.example"), "t", null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("metricsAddress: must be an IP address of this host");
    assertThatThrownBy(() -> ConfigLoader.parse(withMetricsAddress("192.0.2.300"), "t", null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("metricsAddress");
  }

  private static String withMetricsAddress(String value) {
    return DOCUMENTED.replace(
        "metricsPort: 9402", "metricsAddress: " + value + "\nmetricsPort: 9402");
  }

  @Test
  void runtimeDirectoryDefaultsToRunAndMustBeAbsolute() throws Exception {
    String minimal =
        "node: fw1\nvirtualAddresses: [{vhid: 7, interface: eth1, addresses: [\"192.0.2.7/24\"]}]\n";
    assertThat(ConfigLoader.parse(minimal, "test", null).runtimeDirectory())
        .isEqualTo("/run/carp-operator");
    assertThat(
            ConfigLoader.parse(minimal + "runtimeDirectory: /var/run/carp\n", "test", null)
                .runtimeDirectory())
        .isEqualTo("/var/run/carp");
    assertThatThrownBy(
            () -> ConfigLoader.parse(minimal + "runtimeDirectory: run/carp\n", "agent.yaml", null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("runtimeDirectory: must be an absolute path");
  }

  @Test
  void unknownKeysAreNamedWithTheKnownOnes() {
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    DOCUMENTED.replace("advskew: 0", "advskw: 0"), "agent.yaml", null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("virtualAddresses[0].advskw: unknown key 'advskw'")
        .hasMessageContaining("advskew");
  }

  @Test
  void everyBadValueIsReportedWithItsField() {
    String bad =
        """
        virtualAddresses:
          - vhid: 300
            interface: eth0
            addresses: ["192.0.2.100", "2001:db8::1/129", "not-an-ip/24"]
            advbase: 0
            advskew: 255
            password: a
            passwordFile: /nonexistent
          - vhid: 1
            addresses: []
        metricsPort: 70000
        """;
    assertThatThrownBy(() -> ConfigLoader.parse(bad, "agent.yaml", null))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .containsExactlyInAnyOrder(
                        "node: required (this host's name, as its peers and metrics will show it)",
                        "metricsPort: must be 1-65535, got 70000",
                        "virtualAddresses[0].vhid: required, 1-255, got 300",
                        "virtualAddresses[0].advbase: must be 1-255 seconds, got 0 (0 is only for profile: fast)",
                        "virtualAddresses[0].advskew: must be 0-254, got 255",
                        "virtualAddresses[0].addresses[0]: '192.0.2.100' has no prefix length: write it like 192.0.2.100/24 or 2001:db8::100/64",
                        "virtualAddresses[0].addresses[1]: prefix length of '2001:db8::1/129' must be 1-128",
                        "virtualAddresses[0].addresses[2]: 'not-an-ip' is not an IPv4 or IPv6 address",
                        "virtualAddresses[0]: set password or passwordFile, not both",
                        "virtualAddresses[0].passwordFile: cannot read /nonexistent",
                        "virtualAddresses[1].interface: required (the NIC that carries the addresses, e.g. eth0)",
                        "virtualAddresses[1].addresses: at least one address with prefix length is required, e.g. [\"192.0.2.100/24\"]"));
  }

  @Test
  void wrongTypesAndBrokenYamlAreExplained() {
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    "node: fw0\nvirtualAddresses: [{vhid: one}]\n", "agent.yaml", null))
        .hasMessageContaining("virtualAddresses[0].vhid");
    assertThatThrownBy(() -> ConfigLoader.parse("node: \"unterminated\n", "agent.yaml", null))
        .hasMessageContaining("not valid YAML at line");
    assertThatThrownBy(() -> ConfigLoader.parse("", "agent.yaml", null))
        .hasMessageContaining("empty");
  }

  @Test
  void unicastPeersAreIpv4Only() throws Exception {
    AgentConfig c =
        ConfigLoader.parse(
            DOCUMENTED.replace("advskew: 0", "advskew: 0\n    peers: [\"192.0.2.2\"]"),
            "agent.yaml",
            null);
    assertThat(c.virtualAddresses().getFirst().peers()).containsExactly("192.0.2.2");
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    DOCUMENTED.replace("advskew: 0", "advskew: 0\n    peers: [\"2001:db8::2\"]"),
                    "agent.yaml",
                    null))
        .hasMessageContaining(
            "virtualAddresses[0].peers[0]: '2001:db8::2' is IPv6; unicast peers are IPv4 only");
  }

  @Test
  void fastProfileNeedsAdvbaseZero() throws Exception {
    AgentConfig c =
        ConfigLoader.parse(
            """
        node: fw0
        virtualAddresses: [{vhid: 1, interface: eth0, addresses: ["192.0.2.1/24"], profile: fast, advbase: 0, advskew: 26}]
        """,
            "test",
            null);
    assertThat(c.virtualAddresses().getFirst().fastProfile()).isTrue();
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    """
        node: fw0
        virtualAddresses: [{vhid: 1, interface: eth0, addresses: ["192.0.2.1/24"], profile: fast, advbase: 1}]
        """,
                    "test",
                    null))
        .hasMessageContaining("advbase: must be 0 with profile: fast");
  }

  static final String SHARED =
      """
      node: fw1
      preempt: true
      virtualAddresses:
        - interface: eth0
          addresses: ["192.0.2.100/24"]
          balancing: ip
          advskew: 50
          carpNodes: [{vhid: 3, advskew: 0}, {vhid: 4, advskew: 100}, {vhid: 5}]
          password: "secret"
      """;

  @Test
  void loadSharingLikeOpenBsdCarpnodes() throws Exception {
    VirtualAddressConfig va =
        ConfigLoader.parse(SHARED, "test", null).virtualAddresses().getFirst();
    assertThat(va.balancing()).isEqualTo("ip");
    assertThat(va.carpNodes()).extracting(CarpNodeConfig::vhid).containsExactly(3, 4, 5);
    assertThat(va.carpNodes())
        .extracting(va::advskew)
        .as("without advskew the address's applies")
        .containsExactly(0, 100, 50);
    assertThat(
            ConfigLoader.parse(DOCUMENTED, "test", null).virtualAddresses().getFirst().balancing())
        .isEqualTo("none");
  }

  @Test
  void loadSharingMistakesNameTheirField() {
    String bad =
        """
        node: fw1
        virtualAddresses:
          - vhid: 3
            interface: eth0
            addresses: ["192.0.2.100/24", "2001:db8::100/64"]
            balancing: arp
            carpNodes: [{vhid: 3, advskew: 0}, {vhid: 3, advskew: 255}, {advskew: 1}]
          - interface: eth0
            addresses: ["192.0.2.101/24"]
            balancing: ip
            carpNodes: [{vhid: 7}]
          - vhid: 8
            interface: eth0
            addresses: ["192.0.2.102/24"]
            carpNodes: [{vhid: 9}, {vhid: 10}]
          - interface: eth0
            addresses: ["192.0.2.103/24"]
            balancing: round-robin
            carpNodes: [{vhid: 11}, {vhid: 12}]
          - vhid: 7
            interface: eth0
            addresses: ["192.0.2.104/24"]
        """;
    assertThatThrownBy(() -> ConfigLoader.parse(bad, "agent.yaml", null))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .containsExactlyInAnyOrder(
                        "virtualAddresses[0]: set either vhid or carpNodes, not both: with load balancing each carpNodes entry carries its own vhid",
                        "virtualAddresses[0].carpNodes[1].vhid: vhid 3 is listed twice in carpNodes",
                        "virtualAddresses[0].carpNodes[1].advskew: must be 0-254, got 255",
                        "virtualAddresses[0].carpNodes[2].vhid: required, 1-255",
                        "virtualAddresses[0].addresses[1]: IPv6 addresses cannot be load-balanced yet (balancing works for IPv4 only); "
                            + "put '2001:db8::100/64' in a virtual address with balancing: none",
                        "virtualAddresses[1].balancing: load balancing needs per-node vhids: list at least two carpNodes entries (OpenBSD carpnodes), one preferring each node",
                        "virtualAddresses[2]: set either vhid or carpNodes, not both: with load balancing each carpNodes entry carries its own vhid",
                        "virtualAddresses[2].carpNodes: only used for load balancing: set balancing to arp, ip, ip-stealth or ip-unicast",
                        "virtualAddresses[3].balancing: must be one of none, arp, ip, ip-stealth, ip-unicast, got 'round-robin'",
                        "virtualAddresses[4]: vhid 7 is configured twice on eth0"));
  }

  static final String BASE =
      """
      node: fw0
      virtualAddresses: [{vhid: 1, interface: eth0, addresses: ["192.0.2.1/24"]}]
      """;

  @Test
  void syncSectionWithDefaultsAndAKeyFileNextToTheConfig(@TempDir Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve("sync.key"), "0123456789abcdef0123456789abcdef\n");
    AgentConfig c =
        ConfigLoader.parse(
            BASE + "sync: {interface: sync0, keyFile: sync.key}\n", "agent.yaml", dir);
    SyncConfig s = c.sync();
    assertThat(s.interfaceName()).isEqualTo("sync0");
    assertThat(s.mode()).isEqualTo("authenticated");
    assertThat(s.peers()).isEmpty();
    assertThat(s.encrypt()).isFalse();
    assertThat(s.bulkUpdateTimeoutSeconds()).isEqualTo(30);
    assertThat(s.maxDelayMillis()).isEqualTo(50);
    assertThat(s.realtimePriority()).as("normal priority unless asked").isZero();
    assertThat(s.hostId()).isNull();
    assertThat(ConfigLoader.parse(BASE, "agent.yaml", dir).sync())
        .as("no section, no sync")
        .isNull();
    assertThat(c.demotion().whileSyncPending()).isTrue();
    assertThat(c.demotion().untilReady()).isTrue();
    var off =
        ConfigLoader.parse(
                BASE + "demotion: {whileSyncPending: false, untilReady: false}\n",
                "agent.yaml",
                dir)
            .demotion();
    assertThat(off.whileSyncPending()).isFalse();
    assertThat(off.untilReady()).isFalse();
    assertThat(
            ConfigLoader.parse(
                    BASE
                        + "sync: {interface: sync0, mode: bsd-compatible, peers: [192.0.2.2], hostId: 4207849484}\n",
                    "agent.yaml",
                    dir)
                .sync()
                .hostId())
        .isEqualTo(4207849484L);
  }

  @Test
  void syncMistakesNameTheirField(@TempDir Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve("short.key"), "tiny\n");
    assertThatThrownBy(
            () -> ConfigLoader.parse(BASE + "sync: {interface: sync0}\n", "agent.yaml", dir))
        .hasMessageContaining("sync.keyFile: required in authenticated mode")
        .hasMessageContaining("mode: bsd-compatible");
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    BASE + "sync: {interface: sync0, keyFile: short.key}\n", "agent.yaml", dir))
        .hasMessageContaining("fewer than 16 bytes");
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    BASE + "sync: {interface: sync0, keyFile: missing.key}\n", "agent.yaml", dir))
        .hasMessageContaining("sync.keyFile: cannot read");
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    BASE
                        + """
        sync: {peers: ["2001:db8::1", "nope"], mode: bsd-compatible, encrypt: true, bulkUpdateTimeoutSeconds: 0, hostId: 0, maxDelayMillis: 5000, realtimePriority: 100}
        """,
                    "agent.yaml",
                    dir))
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .containsExactlyInAnyOrder(
                        "sync.interface: required (the link the firewalls sync over, ideally dedicated)",
                        "sync.peers[0]: '2001:db8::1' is IPv6; sync peers are IPv4 (as OpenBSD's pfsync)",
                        "sync.peers[1]: 'nope' is not an IP address",
                        "sync.encrypt: needs mode: authenticated (pfsync peers cannot read encrypted states)",
                        "sync.bulkUpdateTimeoutSeconds: must be 1-3600, got 0",
                        "sync.hostId: must be 1-4294967295, got 0",
                        "sync.maxDelayMillis: must be 0-1000, got 5000",
                        "sync.realtimePriority: must be 0-99, got 100"));
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    BASE + "sync: {interface: sync0, mode: pfsync}\n", "agent.yaml", dir))
        .hasMessageContaining("sync.mode: must be authenticated or bsd-compatible, got 'pfsync'");
  }
}
