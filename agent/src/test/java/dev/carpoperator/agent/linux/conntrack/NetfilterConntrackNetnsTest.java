package dev.carpoperator.agent.linux.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link NetfilterConntrack} against the kernel's conntrack table of a lab host: each test runs one
 * of {@link ConntrackScenarios} in a JVM started inside host {@code b}, which checks the table with
 * the conntrack CLI and real traffic to host {@code a}. The test JVM itself (root namespace) never
 * opens a ctnetlink socket.
 */
class NetfilterConntrackNetnsTest {
  /**
   * Makes the kernel track b's own traffic (conntrack hooks are registered only when a rule needs
   * them).
   */
  static final String RULESET =
      """
      table inet ctwatch {
        chain out { type filter hook output priority 0; ct state established,related accept; }
        chain in { type filter hook input priority 0; ct state established,related accept; }
      }
      """;

  NetnsLab lab;
  NetnsLab.Host b;

  @BeforeEach
  void lab() {
    lab = NetnsLab.create();
    lab.addHost("a", "192.0.2.1/24", "2001:db8::1/64");
    b = lab.addHost("b", "192.0.2.2/24", "2001:db8::2/64");
  }

  @AfterEach
  void close() {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void natEntryIsWrittenUpdatedReadBackAndDeleted() throws Exception {
    run(List.of(), "natRoundTrip");
  }

  @Test
  void anInjectedSourceNatTranslatesPackets() throws Exception {
    NetnsLab.Host a = lab.host("a");
    a.exec("nft", RULESET).check();
    b.exec("nft", RULESET).check();
    // an (empty) nat chain registers the NAT hooks, which apply the translation of entries that
    // have it
    b.exec("nft", "table ip nat { chain post { type nat hook postrouting priority srcnat; }\n}")
        .check();
    b.addAddress("192.0.2.3/24");
    run(List.of(), "natTranslates", "192.0.2.1", "192.0.2.3");
    assertThat(a.exec("conntrack", "-L", "-p", "icmp").check().stdout())
        .contains("src=192.0.2.3 dst=192.0.2.1 type=8 code=0 id=4242");
  }

  @Test
  void ipv6DnatUdpIcmpAndZonesRoundTrip() throws Exception {
    run(List.of(), "otherKinds");
  }

  @Test
  void trafficAndOtherProcessesAreHeardButOwnWritesAreNot() throws Exception {
    b.exec("nft", RULESET).check();
    assertThat(b.exec("nft", "list", "table", "inet", "ctwatch").check().stdout())
        .contains("ct state");
    run(List.of(), "events", "192.0.2.1");
  }

  @Test
  void aStalledListenerIsToldOfTheOverrunAndKeepsListening() throws Exception {
    run(List.of(), "overrun");
  }

  @Test
  void makeLiberalSetsOnlyTheFlagOnTheKernelsEntry() throws Exception {
    run(List.of(), "makeLiberal");
  }

  @Test
  void batchedWritesHaveTheOutcomesOfSingleOnes() throws Exception {
    run(List.of(), "batch");
  }

  @Test
  void ourDumpReadsWhatTheLibrarysDumpReads() throws Exception {
    run(List.of(), "dump");
  }

  @Test
  void refusedEntriesGiveReadableExceptions() throws Exception {
    run(List.of(), "refused");
  }

  @Test
  void withoutNetAdminOpenSaysWhatIsMissing() throws Exception {
    run(
        List.of("setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"),
        "noNetAdmin");
  }

  @Test
  void aMissingLibraryNamesThePackage() {
    // fails at dlopen, before any socket exists, so it is safe in the test JVM's namespace
    assertThatThrownBy(() -> NetfilterConntrack.open("libnetfilter_conntrack_nosuch.so.3"))
        .isInstanceOf(ConntrackException.class)
        .hasMessageContaining("libnetfilter-conntrack3");
  }

  /**
   * Runs a scenario in host b, optionally behind a command prefix, and fails with its output unless
   * it passed.
   */
  private void run(List<String> prefix, String... args) throws InterruptedException {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(NetnsLab.javaCommand(ConntrackScenarios.class.getName(), List.of(), args));
    LabProcess p = b.start(args[0], cmd.toArray(String[]::new));
    int exit = p.waitFor(Duration.ofMinutes(2));
    System.out.println(p.output());
    assertThat(exit).as(p.output()).isZero();
    assertThat(p.output()).contains("SCENARIO OK " + args[0]);
  }
}
