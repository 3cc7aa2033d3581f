package dev.carpoperator.testing.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Needs root; uses only TEST-NET / documentation prefixes inside namespaces the test creates. */
class NetnsLabTest {

  @Test
  void twoHostsReachEachOtherOverTheSwitch() {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.1/24", "2001:db8:1::1/64");
      NetnsLab.Host b = lab.addHost("b", "192.0.2.2/24", "2001:db8:1::2/64");
      assertThat(a.exec("ping", "-c", "1", "-W", "2", "192.0.2.2").check().stdout())
          .contains("1 received");
      assertThat(b.exec("ping", "-6", "-c", "1", "-W", "2", "2001:db8:1::1").check().stdout())
          .contains("1 received");
      assertThat(a.exec("ip", "-br", "link", "show", "eth0").check().stdout()).contains(a.mac());
      assertThat(
              lab.execOnSwitch("ip", "-br", "link", "show", "master", NetnsLab.BRIDGE)
                  .check()
                  .stdout())
          .contains("p-a")
          .contains("p-b");
    }
  }

  @Test
  void cutAndRestoreALink() {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "198.51.100.1/24");
      lab.addHost("b", "198.51.100.2/24");
      a.cut();
      assertThat(a.exec("ping", "-c", "1", "-W", "1", "198.51.100.2").ok()).isFalse();
      a.restore();
      // the bridge forwards as soon as the port is up again (STP off); allow a few tries anyway
      assertThat(a.exec("ping", "-c", "1", "-w", "5", "198.51.100.2").check().ok()).isTrue();
      a.cut(NetnsLab.Side.HOST);
      assertThat(a.exec("ip", "-br", "link", "show", "eth0").check().stdout()).contains("DOWN");
      a.restore(NetnsLab.Side.HOST);
    }
  }

  @Test
  void cutAllTakesEveryNicDownWhicheverSwitchItIsOn() {
    try (NetnsLab lab = NetnsLab.create()) {
      lab.addSwitch("wan");
      NetnsLab.Host fw = lab.addHost("fw", "198.51.100.1/24");
      fw.addInterface("eth1", "wan", "203.0.113.1/24");
      lab.addHost("a", "198.51.100.2/24");
      NetnsLab.Host b = lab.addHostOn("wan", "b", "203.0.113.2/24");

      fw.cutAll(NetnsLab.Side.SWITCH);
      assertThat(fw.exec("ping", "-c", "1", "-W", "1", "198.51.100.2").ok()).isFalse();
      assertThat(fw.exec("ping", "-c", "1", "-W", "1", "203.0.113.2").ok()).isFalse();
      fw.restoreAll(NetnsLab.Side.SWITCH);
      assertThat(reachesWithin5s(fw, "198.51.100.2")).isTrue();
      assertThat(reachesWithin5s(fw, "203.0.113.2")).isTrue();

      // eth0 of a host on another switch: cut() acts on that switch, not the lab's first one
      b.cut();
      assertThat(fw.exec("ping", "-c", "1", "-W", "1", "203.0.113.2").ok()).isFalse();
      b.restore();
      assertThat(reachesWithin5s(fw, "203.0.113.2")).isTrue();
    }
  }

  /**
   * A ping while the link was cut leaves a FAILED neighbour entry, and a ping then fails at once
   * with "host unreachable" instead of waiting: try once a second.
   */
  private static boolean reachesWithin5s(NetnsLab.Host from, String ip) {
    for (int i = 0; i < 5; i++) {
      if (from.exec("ping", "-c", "1", "-W", "1", ip).ok()) return true;
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  @Test
  void execReportsFailureAndTimeout() {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a");
      ExecResult r = a.exec("sh", "-c", "echo out; echo err >&2; exit 3");
      assertThat(r.exitCode()).isEqualTo(3);
      assertThat(r.stdout()).isEqualTo("out\n");
      assertThat(r.stderr()).isEqualTo("err\n");
      assertThatThrownBy(r::check)
          .isInstanceOf(NetnsException.class)
          .hasMessageContaining("exit 3")
          .hasMessageContaining("err");
      ExecResult slow = a.exec(Duration.ofMillis(300), "sleep", "30");
      assertThat(slow.timedOut()).isTrue();
    }
  }

  @Test
  void startsAJavaMainInsideAHostAndCleansUpEvenWithItRunning() throws Exception {
    String id;
    LabProcess p;
    LabProcess sleeper;
    try (NetnsLab lab = NetnsLab.create()) {
      id = lab.id();
      NetnsLab.Host a = lab.addHost("a");
      p = a.startJava("where", WhereAmIMain.class, "hello");
      assertThat(p.waitFor(Duration.ofSeconds(60))).as(p.output()).isZero();
      assertThat(p.output())
          .contains("if eth0 " + a.mac())
          .contains("args hello")
          .doesNotContain("restricted method");
      assertThat(p.command()).contains(NetnsLab.NATIVE_ACCESS);
      sleeper = a.start("sleeper", "sleep", "600");
      assertThat(sleeper.isAlive()).isTrue();
      assertThat(NetnsLab.listNamespaces()).contains(id + "-sw", id + "-a");
    }
    assertThat(sleeper.isAlive()).isFalse();
    assertThat(NetnsLab.listNamespaces()).noneMatch(ns -> ns.startsWith(id + "-"));
  }

  @Test
  void cleansUpWhenTheTestBodyThrows() {
    String[] id = new String[1];
    assertThatThrownBy(
            () -> {
              try (NetnsLab lab = NetnsLab.create()) {
                id[0] = lab.id();
                lab.addHost("a");
                throw new IllegalStateException("boom");
              }
            })
        .hasMessage("boom");
    assertThat(NetnsLab.listNamespaces()).noneMatch(ns -> ns.startsWith(id[0] + "-"));
  }

  @Test
  void sweepRemovesNamespacesOfDeadJvms() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    String stale = NetnsLab.PREFIX + gone.pid() + "-99-sw";
    Commands.run("ip", "netns", "add", stale).check();
    try {
      assertThat(NetnsLab.sweepStale()).contains(stale);
      assertThat(NetnsLab.listNamespaces()).doesNotContain(stale);
    } finally {
      Commands.run("ip", "netns", "delete", stale);
    }
  }

  @Test
  void rejectsBadHostNames() {
    try (NetnsLab lab = NetnsLab.create()) {
      assertThatThrownBy(() -> lab.addHost("Way-Too-Long-Name"))
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(lab.hosts()).isEmpty();
    }
  }
}
