package dev.carpoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpoperator.agent.linux.conntrack.NetfilterConntrack;
import dev.carpoperator.agent.net.PcapFrameIo;
import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.netns.NetnsLab;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * An Error thrown in a native callback (libpcap's, libnetfilter_conntrack's) must end the process
 * in the defined way, not vanish in JNA or leave a dead receive thread behind: recorded, rethrown
 * by the Java side, the thread ends, the uncaught-exception handler calls {@link Fatal#exit}, and
 * the process exits with {@link Fatal#EXIT_STATUS}. Each case runs a JVM in a lab host whose
 * consumer throws on the first frame or event; without the path it would print STILL-ALIVE and exit
 * 0 after a while.
 */
class FatalErrorNetnsTest {
  static final Duration WAIT = Duration.ofSeconds(60);

  /** Stands for a StackOverflowError or a LinkageError in the consumer. */
  static final class InjectedError extends Error {
    InjectedError() {
      super("injected for the test");
    }
  }

  @Test
  void anErrorInThePcapConsumerEndsTheProcess() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.1/24");
      NetnsLab.Host b = lab.addHost("b", "192.0.2.2/24");
      LabProcess p = a.startJava("pcap-error", PcapErrorMain.class);
      awaitReady(p);
      b.exec("ping", "-c", "3", "-i", "0.2", "-W", "1", "192.0.2.1");
      assertThat(p.waitFor(WAIT)).as(p.output()).isEqualTo(Fatal.EXIT_STATUS);
      assertThat(p.output())
          .contains("fatal error in thread pcap-rx-eth0")
          .contains("InjectedError")
          .doesNotContain("STILL-ALIVE");
    }
  }

  @Test
  void anErrorInTheConntrackListenerEndsTheProcess() throws Exception {
    try (NetnsLab lab = NetnsLab.create()) {
      NetnsLab.Host a = lab.addHost("a", "192.0.2.1/24");
      LabProcess p = a.startJava("conntrack-error", ConntrackErrorMain.class);
      awaitReady(p);
      a.exec(
              "conntrack",
              "-I",
              "-p",
              "tcp",
              "-s",
              "198.51.100.10",
              "-d",
              "203.0.113.10",
              "--sport",
              "40000",
              "--dport",
              "80",
              "--state",
              "ESTABLISHED",
              "--timeout",
              "100")
          .check();
      assertThat(p.waitFor(WAIT)).as(p.output()).isEqualTo(Fatal.EXIT_STATUS);
      assertThat(p.output())
          .contains("fatal error in thread conntrack-events")
          .contains("InjectedError")
          .doesNotContain("STILL-ALIVE");
    }
  }

  private static void awaitReady(LabProcess p) {
    await().atMost(WAIT).until(() -> p.output().contains("READY") || !p.isAlive());
    assertThat(p.isAlive()).as(p.output()).isTrue();
  }

  /** Captures ICMP on eth0; the consumer throws. */
  public static final class PcapErrorMain {
    public static void main(String[] args) throws Exception {
      Fatal.installUncaughtHandler();
      PcapFrameIo io = PcapFrameIo.builder("eth0").filter("icmp").open();
      io.start(
          frame -> {
            throw new InjectedError();
          });
      System.out.println("READY");
      System.out.flush();
      Thread.sleep(30_000);
      System.out.println("STILL-ALIVE");
    }
  }

  /** Listens to conntrack events; the listener throws. */
  public static final class ConntrackErrorMain {
    public static void main(String[] args) throws Exception {
      Fatal.installUncaughtHandler();
      NetfilterConntrack ct = NetfilterConntrack.open();
      ct.listen(
          (type, entry) -> {
            throw new InjectedError();
          });
      System.out.println("READY");
      System.out.flush();
      Thread.sleep(30_000);
      System.out.println("STILL-ALIVE");
    }
  }
}
