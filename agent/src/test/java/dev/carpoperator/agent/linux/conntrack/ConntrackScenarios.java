package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET;
import static dev.carpoperator.agent.sync.ConntrackEntry.AF_INET6;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_ASSURED;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_CONFIRMED;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_DST_NAT;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_DST_NAT_DONE;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_SEEN_REPLY;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_SRC_NAT;
import static dev.carpoperator.agent.sync.ConntrackEntry.IPS_SRC_NAT_DONE;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_ICMP;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_ICMPV6;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_TCP;
import static dev.carpoperator.agent.sync.ConntrackEntry.PROTO_UDP;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_CLOSE;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_ESTABLISHED;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_FIN_WAIT;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_FLAG_BE_LIBERAL;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_FLAG_SACK_PERM;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_FLAG_WINDOW_SCALE;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_SYN_SENT;
import static dev.carpoperator.agent.sync.ConntrackEntry.TCP_TIME_WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackEntry.Tuple;
import dev.carpoperator.agent.sync.ConntrackException;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.agent.sync.ConntrackKernel.EventType;
import dev.carpoperator.testing.netns.NetnsLab;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Scenarios for {@link NetfilterConntrackNetnsTest}, run INSIDE a lab host (the binding acts on the
 * conntrack table of the namespace it runs in). Assertion failures end the JVM with a stack trace
 * and exit status 1. Args: scenario name, then the scenario's arguments.
 */
public final class ConntrackScenarios {
  static final InetAddress CLIENT = ip("192.0.2.2");
  static final InetAddress SERVER = ip("203.0.113.10");
  static final InetAddress SNAT = ip("198.51.100.7");
  static final int LIBERAL_FLAGS = TCP_FLAG_WINDOW_SCALE | TCP_FLAG_SACK_PERM | TCP_FLAG_BE_LIBERAL;

  public static void main(String[] args) throws Exception {
    refuseRootNamespace();
    switch (args[0]) {
      case "natRoundTrip" -> natRoundTrip();
      case "natTranslates" -> natTranslates(ip(args[1]), ip(args[2]));
      case "otherKinds" -> otherKinds();
      case "events" -> events(ip(args[1]));
      case "overrun" -> overrun();
      case "refused" -> refused();
      case "makeLiberal" -> makeLiberal();
      case "batch" -> batch();
      case "dump" -> dump();
      case "noNetAdmin" -> noNetAdmin();
      default -> throw new IllegalArgumentException("no such scenario: " + args[0]);
    }
    System.out.println("SCENARIO OK " + args[0]);
  }

  /** The binding writes to the table of the namespace it runs in: never the machine's own. */
  static void refuseRootNamespace() throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder("ip", "netns", "identify", Long.toString(ProcessHandle.current().pid()))
            .start();
    String ns = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (p.waitFor() != 0 || !ns.startsWith(NetnsLab.PREFIX)) {
      throw new IllegalStateException("refusing to run outside a lab namespace (in '" + ns + "')");
    }
  }

  /** TCP with source NAT: written, read back by the CLI and by dump, updated, deleted. */
  static void natRoundTrip() throws Exception {
    ConntrackEntry written = tcp(40000, new Tuple(SERVER, SNAT, 443, 61000), TCP_ESTABLISHED, 3600);
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      ct.apply(written);
      String line =
          cli("-L", "-o", "extended")
              .lines()
              .filter(l -> l.contains("sport=40000"))
              .findFirst()
              .orElseThrow();
      System.out.println("after create: " + line);
      assertThat(line)
          .contains(
              "tcp      6 ",
              " ESTABLISHED ",
              "src=192.0.2.2 dst=203.0.113.10 sport=40000 dport=443 src=203.0.113.10 dst=198.51.100.7 sport=443 dport=61000",
              "[ASSURED]",
              "mark=42");
      assertThat(timeoutOf(line)).isBetween(3500L, 3600L);

      // the CLI does not show TCP flags: they are checked through our dump, i.e. as the kernel
      // reports them
      ConntrackEntry dumped = find(ct.dump(), written);
      int natBits = IPS_CONFIRMED | IPS_SRC_NAT | IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;
      assertThat(dumped.status()).isEqualTo(IPS_SEEN_REPLY | IPS_ASSURED | natBits);
      assertThat(dumped.tcpFlagsOriginal() & TCP_FLAG_BE_LIBERAL).isNotZero();
      assertSameExceptTimeout(dumped, written, dumped.status());

      ConntrackEntry updated = written.withDynamic(written.status(), 120, TCP_TIME_WAIT);
      ct.apply(updated);
      line =
          cli("-L", "-o", "extended")
              .lines()
              .filter(l -> l.contains("sport=40000"))
              .findFirst()
              .orElseThrow();
      System.out.println("after update: " + line);
      assertThat(line).contains(" TIME_WAIT ", "dst=198.51.100.7 sport=443 dport=61000");
      assertThat(timeoutOf(line)).isBetween(100L, 120L);
      dumped = find(ct.dump(), written);
      assertSameExceptTimeout(dumped, updated, IPS_SEEN_REPLY | IPS_ASSURED | natBits);
      assertThat(dumped.timeoutSeconds()).isBetween(100L, 120L);

      // a state without ASSURED cannot clear the kernel's bit (EBUSY): the rest is still applied
      ct.apply(updated.withDynamic(IPS_SEEN_REPLY, 300, TCP_ESTABLISHED));
      dumped = find(ct.dump(), written);
      assertThat(dumped.tcpState()).isEqualTo(TCP_ESTABLISHED);
      assertThat(dumped.status() & IPS_ASSURED).isNotZero();
      assertThat(dumped.timeoutSeconds()).isBetween(280L, 300L);

      assertThat(ct.delete(written)).isTrue();
      assertThat(cli("-L")).doesNotContain("sport=40000");
      assertThat(ct.delete(written)).isFalse();
      assertThat(ct.stats().writes()).isEqualTo(4);
      assertThat(ct.stats().writeErrors()).isZero();
    }
  }

  /**
   * A source-NAT entry written before the first packet really translates: the echo request leaves
   * with the NAT address (the test checks the peer's table) and the reply, sent to that address,
   * comes back to ping.
   */
  static void natTranslates(InetAddress peer, InetAddress natAddress) throws Exception {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      ConntrackEntry echo =
          new ConntrackEntry(
              AF_INET,
              PROTO_ICMP,
              new Tuple(CLIENT, peer, 4242, 4242),
              new Tuple(peer, natAddress, 4242, 4242),
              0,
              30,
              -1,
              0,
              0,
              0,
              0,
              8,
              0,
              0,
              0);
      ct.apply(echo);
      // without this bit the NAT hooks leave packets alone, whatever the reply tuple says
      assertThat(find(ct.dump(), echo).status() & IPS_SRC_NAT).isNotZero();
      Process ping =
          new ProcessBuilder(
                  "ping",
                  "-c",
                  "1",
                  "-W",
                  "5",
                  "-e",
                  "4242",
                  "-I",
                  "192.0.2.2",
                  peer.getHostAddress())
              .inheritIO()
              .start();
      assertThat(ping.waitFor()).as("ping through the injected NAT").isZero();
      System.out.println(cli("-L", "-o", "extended"));
    }
  }

  /** IPv6 with destination NAT, UDP, ICMP and ICMPv6 echo, a zone: each dumped back as written. */
  /** IPv6 TCP with NAT, UDP in two zones, ICMP and ICMPv6, an ICMP with source NAT. */
  static List<ConntrackEntry> otherKindsCorpus() {
    InetAddress v6client = ip("2001:db8::2");
    InetAddress v6vip = ip("2001:db8::100");
    InetAddress v6server = ip("2001:db8::3");
    return List.of(
        new ConntrackEntry(
            AF_INET6,
            PROTO_TCP,
            new Tuple(v6client, v6vip, 50000, 80),
            new Tuple(v6server, v6client, 8080, 50000),
            IPS_SEEN_REPLY | IPS_ASSURED,
            600,
            TCP_ESTABLISHED,
            LIBERAL_FLAGS,
            LIBERAL_FLAGS,
            7,
            9,
            -1,
            -1,
            7,
            0),
        new ConntrackEntry(
            AF_INET,
            PROTO_UDP,
            new Tuple(CLIENT, SERVER, 5353, 53),
            new Tuple(SERVER, CLIENT, 53, 5353),
            IPS_SEEN_REPLY,
            30,
            -1,
            0,
            0,
            0,
            0,
            -1,
            -1,
            0,
            0),
        new ConntrackEntry(
            AF_INET,
            PROTO_UDP,
            new Tuple(CLIENT, SERVER, 5353, 53),
            new Tuple(SERVER, CLIENT, 53, 5353),
            IPS_SEEN_REPLY,
            30,
            -1,
            0,
            0,
            0,
            0,
            -1,
            -1,
            0,
            12), // same tuple in zone 12: a separate entry
        new ConntrackEntry(
            AF_INET,
            PROTO_ICMP,
            new Tuple(CLIENT, SERVER, 4711, 4711),
            new Tuple(SERVER, CLIENT, 4711, 4711),
            IPS_SEEN_REPLY,
            30,
            -1,
            0,
            0,
            0,
            0,
            8,
            0,
            0,
            0),
        new ConntrackEntry(
            AF_INET6,
            PROTO_ICMPV6,
            new Tuple(v6client, v6server, 99, 99),
            new Tuple(v6server, v6client, 99, 99),
            0,
            30,
            -1,
            0,
            0,
            0,
            0,
            128,
            0,
            0,
            0),
        // source NAT of an echo (the address only: libnetfilter_conntrack cannot write an ICMP
        // id translation)
        new ConntrackEntry(
            AF_INET,
            PROTO_ICMP,
            new Tuple(CLIENT, SERVER, 5000, 5000),
            new Tuple(SERVER, SNAT, 5000, 5000),
            0,
            30,
            -1,
            0,
            0,
            0,
            0,
            8,
            0,
            0,
            0));
  }

  static void otherKinds() throws Exception {
    List<ConntrackEntry> written = otherKindsCorpus();
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      for (ConntrackEntry e : written) {
        ct.apply(e);
      }
      System.out.println(cli("-L", "-o", "extended"));
      assertThat(cli("-L", "-f", "ipv6", "-o", "extended"))
          .contains(
              "src=2001:db8::2 dst=2001:db8::100 sport=50000 dport=80 src=2001:db8::3 dst=2001:db8::2 sport=8080 dport=50000",
              "type=128 code=0 id=99");
      assertThat(cli("-L", "-w", "12")).contains("zone=12");
      List<ConntrackEntry> dumped = ct.dump();
      assertThat(dumped).hasSize(written.size());
      for (ConntrackEntry e : written) {
        ConntrackEntry d = find(dumped, e);
        boolean dnat = !e.reply().source().equals(e.original().destination());
        boolean snat = !e.reply().destination().equals(e.original().source());
        int expected =
            e.status()
                | IPS_CONFIRMED
                | (dnat ? IPS_DST_NAT : 0)
                | (snat ? IPS_SRC_NAT : 0)
                | (dnat || snat ? IPS_DST_NAT_DONE | IPS_SRC_NAT_DONE : 0);
        assertSameExceptTimeout(d, e, expected);
      }
      for (ConntrackEntry e : written) {
        assertThat(ct.delete(e)).as("delete %s", e).isTrue();
      }
      assertThat(ct.dump()).isEmpty();
    }
  }

  /**
   * Real traffic from this host to {@code peer} (an nft ruleset with ct state is loaded here, so
   * conntrack tracks it) and changes made by the conntrack CLI are delivered; our own writes are
   * not, but another handle's are.
   */
  static void events(InetAddress peer) throws Exception {
    try (NetfilterConntrack ct = NetfilterConntrack.open();
        NetfilterConntrack other = NetfilterConntrack.open()) {
      Events seen = new Events();
      ct.listen(seen);
      Events seenByOther = new Events();
      other.listen(seenByOther);
      System.out.println(
          "port ids: listening/writing handle "
              + Integer.toUnsignedString(ct.portId())
              + ", other "
              + Integer.toUnsignedString(other.portId()));

      // ICMP echo: NEW when the request leaves, UPDATE when the reply is seen
      assertThat(
              new ProcessBuilder("ping", "-c", "1", "-W", "5", peer.getHostAddress())
                  .inheritIO()
                  .start()
                  .waitFor())
          .isZero();
      Predicate<ConntrackEntry> echo =
          e ->
              e.protocol() == PROTO_ICMP
                  && e.original().destination().equals(peer)
                  && e.icmpType() == 8;
      seen.await(EventType.NEW, echo);
      ConntrackEntry replied = seen.await(EventType.UPDATE, echo);
      assertThat(replied.status() & IPS_SEEN_REPLY).isNotZero();

      // TCP to a closed port: SYN (NEW, SYN_SENT); a RST as the only reply deletes the entry at
      // once (DESTROY)
      try (Socket s = new Socket()) {
        assertThatThrownBy(() -> s.connect(new InetSocketAddress(peer, 9), 5000))
            .isInstanceOf(ConnectException.class);
      }
      Predicate<ConntrackEntry> tcp9 = e -> e.isTcp() && e.original().destinationPort() == 9;
      assertThat(seen.await(EventType.NEW, tcp9).tcpState()).isEqualTo(TCP_SYN_SENT);
      assertThat(seen.await(EventType.DESTROY, tcp9).tcpState()).isEqualTo(TCP_CLOSE);

      // our own create, update and delete: the listener of the same object hears nothing, another
      // handle does
      long ownBefore = ct.stats().ownEventsIgnored();
      ConntrackEntry own = tcp(41000, new Tuple(SERVER, CLIENT, 443, 41000), TCP_ESTABLISHED, 3600);
      ct.apply(own);
      ct.apply(own.withDynamic(own.status(), 600, TCP_ESTABLISHED));
      ct.delete(own);
      Predicate<ConntrackEntry> ownPort = e -> e.original().sourcePort() == 41000;
      assertThat(seenByOther.await(EventType.NEW, ownPort)).isNotNull();
      assertThat(seenByOther.await(EventType.UPDATE, ownPort)).isNotNull();
      assertThat(seenByOther.await(EventType.DESTROY, ownPort)).isNotNull();

      // a change by another process after ours: once it is seen, ours would have been seen before
      // it
      cli(
          "-I",
          "-p",
          "udp",
          "-s",
          "192.0.2.2",
          "-d",
          "203.0.113.10",
          "--sport",
          "7000",
          "--dport",
          "53",
          "-t",
          "30");
      Predicate<ConntrackEntry> cliEntry =
          e -> e.protocol() == PROTO_UDP && e.original().sourcePort() == 7000;
      seen.await(EventType.NEW, cliEntry);
      cli("-D", "-p", "udp", "--sport", "7000");
      seen.await(EventType.DESTROY, cliEntry);
      assertThat(seen.all).noneMatch(ownPort);
      // dropped by the socket filter in the kernel, not read and dropped here
      assertThat(ct.stats().ownEventsIgnored() - ownBefore).isZero();
      assertThat(other.stats().ownEventsIgnored()).isZero();
      System.out.println("stats " + ct.stats() + ", other " + other.stats());

      // not following new and updated connections (a backup during a bulk update): another
      // handle's create and update are not delivered, its delete is; then they are again
      ct.followNewAndUpdates(false);
      ConntrackEntry unheard =
          tcp(41001, new Tuple(SERVER, CLIENT, 443, 41001), TCP_ESTABLISHED, 3600);
      other.apply(unheard);
      other.apply(unheard.withDynamic(unheard.status(), 600, TCP_ESTABLISHED));
      other.delete(unheard);
      Predicate<ConntrackEntry> unheardPort = e -> e.original().sourcePort() == 41001;
      seen.await(EventType.DESTROY, unheardPort);
      synchronized (seen.all) { // one socket delivers in order: the NEW and UPDATE came first
        assertThat(seen.all.stream().filter(unheardPort)).hasSize(1);
      }
      ct.followNewAndUpdates(true);
      ConntrackEntry heard = tcp(41002, new Tuple(SERVER, CLIENT, 443, 41002), TCP_ESTABLISHED, 60);
      other.apply(heard);
      Predicate<ConntrackEntry> heardPort = e -> e.original().sourcePort() == 41002;
      seen.await(EventType.NEW, heardPort);
      other.apply(heard.withDynamic(heard.status(), 30, TCP_ESTABLISHED));
      seen.await(EventType.UPDATE, heardPort);
      other.delete(heard);

      ct.close();
      ct.followNewAndUpdates(true); // closed: nothing to do, no error
      assertThat(Thread.getAllStackTraces().keySet())
          .filteredOn(t -> t.getName().equals("conntrack-events"))
          .hasSize(1);
      ct.close(); // idempotent
      assertThatThrownBy(ct::dump).isInstanceOf(IllegalStateException.class);
    }
    assertThat(Thread.getAllStackTraces().keySet())
        .noneMatch(t -> t.getName().equals("conntrack-events"));
  }

  /**
   * A listener that stalls while another handle writes many entries: the kernel drops events
   * (ENOBUFS), the listener is told, and events flow again afterwards.
   */
  static void overrun() throws Exception {
    try (NetfilterConntrack ct = NetfilterConntrack.open();
        NetfilterConntrack writer = NetfilterConntrack.open()) {
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch overrunSeen = new CountDownLatch(1);
      Events seen =
          new Events() {
            @Override
            public void event(EventType type, ConntrackEntry entry) {
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              super.event(type, entry);
            }

            @Override
            public void overrun() {
              overrunSeen.countDown();
            }
          };
      ct.listen(seen);
      int n = 30_000;
      for (int i = 0; i < n; i++) {
        writer.apply(
            tcp(10_000 + i, new Tuple(SERVER, CLIENT, 443, 10_000 + i), TCP_ESTABLISHED, 600));
      }
      release.countDown();
      assertThat(overrunSeen.await(60, TimeUnit.SECONDS)).isTrue();
      // The loss is reported at once, while the events queued before it still wait in the socket,
      // which drops
      // new ones until it is drained: insert markers until one comes through.
      ConntrackEntry marker = null;
      for (int port = 7001; marker == null && port < 7011; port++) {
        cli(
            "-I",
            "-p",
            "udp",
            "-s",
            "192.0.2.2",
            "-d",
            "203.0.113.10",
            "--sport",
            Integer.toString(port),
            "--dport",
            "53",
            "-t",
            "30");
        marker = seen.poll(EventType.NEW, e -> e.protocol() == PROTO_UDP, 5);
      }
      assertThat(marker).as("a marker event after the overrun").isNotNull();
      System.out.println("after " + n + " creates with a stalled listener: " + ct.stats());
      assertThat(ct.stats().overruns()).isPositive();
      assertThat(ct.stats().events()).isLessThan(n + 1);
    }
  }

  /**
   * Entries the kernel refuses give a ConntrackException that says what and why; the handle stays
   * usable.
   */
  static void refused() throws Exception {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      ConntrackEntry badState = tcp(42000, new Tuple(SERVER, CLIENT, 443, 42000), 200, 60);
      assertThatThrownBy(() -> ct.apply(badState))
          .isInstanceOf(ConntrackException.class)
          .hasMessageContaining("conntrack create of ct[6 192.0.2.2:42000>203.0.113.10:443")
          .hasMessageContaining(
              "Numerical result out of range") // the netlink policy caps the state (ERANGE)
          .satisfies(e -> assertThat(((ConntrackException) e).errno()).isEqualTo(34));
      // destination unreachable is not a query type: no ICMP connection can have it
      ConntrackEntry badIcmp =
          new ConntrackEntry(
              AF_INET,
              PROTO_ICMP,
              new Tuple(CLIENT, SERVER, 1, 1),
              new Tuple(SERVER, CLIENT, 1, 1),
              0,
              30,
              -1,
              0,
              0,
              0,
              0,
              3,
              1,
              0,
              0);
      assertThatThrownBy(() -> ct.apply(badIcmp))
          .isInstanceOf(ConntrackException.class)
          .hasMessageContaining("Invalid argument");
      // an existing entry with a bad state fails on the update path
      ConntrackEntry good = tcp(42001, new Tuple(SERVER, CLIENT, 443, 42001), TCP_ESTABLISHED, 60);
      ct.apply(good);
      assertThatThrownBy(() -> ct.apply(good.withDynamic(good.status(), 60, 200)))
          .isInstanceOf(ConntrackException.class)
          .hasMessageContaining("conntrack update of")
          .hasMessageContaining("Numerical result out of range");
      assertThat(ct.stats().writeErrors()).isEqualTo(3);
      assertThat(ct.delete(good)).isTrue();
      assertThat(ct.dump()).isEmpty();
    }
  }

  /** Run without CAP_NET_ADMIN: open() refuses with a message that says what is missing. */
  static void noNetAdmin() {
    assertThatThrownBy(NetfilterConntrack::open)
        .isInstanceOf(ConntrackException.class)
        .hasMessageContaining("Operation not permitted")
        .hasMessageContaining("CAP_NET_ADMIN");
  }

  /**
   * BE_LIBERAL set on an entry the kernel tracks strictly, from a stale copy of it: the flags
   * change, the state, timeout and other flags stay the kernel's (a takeover, TakeoverWindows).
   */
  static void makeLiberal() throws Exception {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      int strict = TCP_FLAG_WINDOW_SCALE | TCP_FLAG_SACK_PERM;
      ConntrackEntry written =
          tcp(42000, new Tuple(SERVER, CLIENT, 443, 42000), TCP_ESTABLISHED, 3600)
              .withTcpFlags(strict, strict);
      ct.apply(written);
      ConntrackEntry before = find(ct.dump(), written);
      assertThat(before.tcpFlagsOriginal() & TCP_FLAG_BE_LIBERAL).isZero();
      assertThat(before.tcpFlagsReply() & TCP_FLAG_BE_LIBERAL).isZero();

      ConntrackEntry stale = written.withDynamic(written.status(), 5, TCP_SYN_SENT);
      assertThat(ct.makeLiberal(stale)).isTrue();
      ConntrackEntry after = find(ct.dump(), written);
      assertThat(after.tcpFlagsOriginal()).isEqualTo(strict | TCP_FLAG_BE_LIBERAL);
      assertThat(after.tcpFlagsReply()).isEqualTo(strict | TCP_FLAG_BE_LIBERAL);
      assertThat(after.tcpState()).isEqualTo(TCP_ESTABLISHED);
      assertThat(after.timeoutSeconds()).isGreaterThan(3000);
      assertThat(after.status()).isEqualTo(before.status());

      ct.delete(written);
      assertThat(ct.makeLiberal(written)).isFalse();
    }
  }

  /**
   * Our dump (one request, read and decoded in Java) gives what the library's dump gives, entry for
   * entry: the corpus of other kinds and 5 000 TCP entries with and without NAT, several reads'
   * worth.
   */
  static void dump() throws Exception {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      List<ConntrackKernel.Change> changes = new ArrayList<>();
      for (ConntrackEntry e : otherKindsCorpus()) changes.add(new ConntrackKernel.Change(e, false));
      for (int i = 0; i < 5_000; i++) {
        Tuple reply =
            i % 3 == 0
                ? new Tuple(SERVER, SNAT, 443, 20_000 + i) // source NAT
                : new Tuple(SERVER, CLIENT, 443, 20_000 + i);
        int state = i % 5 == 0 ? TCP_SYN_SENT : TCP_ESTABLISHED;
        changes.add(new ConntrackKernel.Change(tcp(20_000 + i, reply, state, 3600), false));
      }
      assertThat(ct.writeAll(changes)).containsOnlyNulls();
      List<ConntrackEntry> ours = ct.dump();
      List<ConntrackEntry> library;
      try (NetfilterConntrack other = NetfilterConntrack.open()) { // see dumpThroughLibrary
        library = other.dumpThroughLibrary();
      }
      assertThat(ours).hasSize(changes.size()).hasSameSizeAs(library);
      for (ConntrackEntry l : library) {
        ConntrackEntry o = find(ours, l);
        assertThat(fields(o.withDynamic(o.status(), 0, o.tcpState())))
            .isEqualTo(fields(l.withDynamic(l.status(), 0, l.tcpState())));
        assertThat(o.timeoutSeconds()).isBetween(l.timeoutSeconds(), l.timeoutSeconds() + 2);
      }
      assertThat(ct.skipped()).isZero();

      // The sync engine reads its dumps on a thread of their own while its loop writes: both go
      // through, and each dump holds what was there before the writes and at most what after.
      int before = ours.size();
      List<ConntrackKernel.Change> more = new ArrayList<>();
      for (int i = 0; i < 5_000; i++)
        more.add(
            new ConntrackKernel.Change(
                tcp(30_000 + i, new Tuple(SERVER, CLIENT, 443, 30_000 + i), TCP_ESTABLISHED, 3600),
                false));
      List<Integer> sizes = java.util.Collections.synchronizedList(new ArrayList<>());
      java.util.concurrent.atomic.AtomicReference<Throwable> dumpError =
          new java.util.concurrent.atomic.AtomicReference<>();
      java.util.concurrent.atomic.AtomicBoolean writing =
          new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread dumper =
          Thread.ofPlatform()
              .start(
                  () -> {
                    try {
                      do sizes.add(ct.dump().size());
                      while (writing.get());
                    } catch (Throwable t) {
                      dumpError.set(t);
                    }
                  });
      for (int i = 0; i < more.size(); i += 64)
        assertThat(ct.writeAll(more.subList(i, Math.min(more.size(), i + 64)))).containsOnlyNulls();
      writing.set(false);
      dumper.join();
      assertThat(dumpError.get()).isNull();
      assertThat(sizes).isNotEmpty().allMatch(n -> n >= before && n <= before + more.size());
      assertThat(ct.dump()).hasSize(before + more.size());
      assertThat(ct.skipped()).isZero();
    }
  }

  /**
   * writeAll: many changes sent together, each with the outcome one apply or delete would have had:
   * creates, updates of existing entries (EEXIST, then the dynamic part), an update that cannot
   * clear ASSURED (EBUSY, then without the status), deletes of present and missing entries, a
   * refused entry amid good ones, and a later change of an entry written earlier in the same list.
   */
  static void batch() throws Exception {
    try (NetfilterConntrack ct = NetfilterConntrack.open()) {
      int n = 3 * NetfilterConntrack.BATCH_REQUESTS + 7; // several sends, the last one partial
      List<ConntrackEntry> many = new ArrayList<>();
      for (int i = 0; i < n; i++)
        many.add(tcp(43000 + i, new Tuple(SERVER, CLIENT, 443, 43000 + i), TCP_ESTABLISHED, 3600));
      List<ConntrackKernel.Change> creates =
          many.stream().map(e -> new ConntrackKernel.Change(e, false)).toList();
      assertThat(ct.writeAll(creates)).hasSize(n).containsOnlyNulls();
      List<ConntrackEntry> table = ct.dump();
      for (ConntrackEntry e : many) {
        ConntrackEntry d = find(table, e);
        assertThat(d.status() & e.status()).isEqualTo(e.status());
        assertSameExceptTimeout(d, e, d.status());
      }

      // all exist: each create is answered EEXIST and becomes an update
      List<ConntrackKernel.Change> updates =
          many.stream()
              .map(
                  e ->
                      new ConntrackKernel.Change(
                          e.withDynamic(e.status(), 120, TCP_FIN_WAIT), false))
              .toList();
      assertThat(ct.writeAll(updates)).containsOnlyNulls();
      table = ct.dump();
      for (ConntrackEntry e : many) {
        assertThat(find(table, e).tcpState()).isEqualTo(TCP_FIN_WAIT);
        assertThat(find(table, e).timeoutSeconds()).isBetween(60L, 120L);
      }

      ConntrackEntry first = many.get(0);
      ConntrackEntry unassured = first.withDynamic(IPS_SEEN_REPLY, 300, TCP_ESTABLISHED); // EBUSY
      ConntrackEntry badState = tcp(42500, new Tuple(SERVER, CLIENT, 443, 42500), 200, 60);
      ConntrackEntry fresh =
          tcp(42501, new Tuple(SERVER, CLIENT, 443, 42501), TCP_ESTABLISHED, 600);
      ConntrackEntry missing =
          tcp(42502, new Tuple(SERVER, CLIENT, 443, 42502), TCP_ESTABLISHED, 60);
      // last of its send: the only request that asks for an acknowledgement gets an error instead
      ConntrackEntry badLast = tcp(42503, new Tuple(SERVER, CLIENT, 443, 42503), 200, 60);
      List<ConntrackException> outcomes =
          ct.writeAll(
              List.of(
                  new ConntrackKernel.Change(unassured, false),
                  new ConntrackKernel.Change(badState, false),
                  new ConntrackKernel.Change(many.get(1), true),
                  new ConntrackKernel.Change(missing, true),
                  new ConntrackKernel.Change(fresh, false),
                  new ConntrackKernel.Change(fresh, true), // the same entry again: after its create
                  new ConntrackKernel.Change(many.get(2), true),
                  new ConntrackKernel.Change(badLast, false)));
      assertThat(outcomes.get(0)).isNull();
      assertThat(outcomes.get(1))
          .isNotNull()
          .hasMessageContaining("conntrack create of ct[6 192.0.2.2:42500>203.0.113.10:443")
          .satisfies(e -> assertThat(e.errno()).isEqualTo(34)); // ERANGE, as apply says
      assertThat(outcomes.subList(2, 7)).containsOnlyNulls();
      assertThat(outcomes.get(7))
          .isNotNull()
          .hasMessageContaining("conntrack create of ct[6 192.0.2.2:42503>203.0.113.10:443")
          .satisfies(e -> assertThat(e.errno()).isEqualTo(34));
      table = ct.dump();
      ConntrackEntry kept = find(table, first);
      assertThat(kept.status() & IPS_ASSURED).as("ASSURED cannot be cleared").isNotZero();
      assertThat(kept.tcpState()).isEqualTo(TCP_ESTABLISHED);
      assertThat(kept.timeoutSeconds()).isBetween(240L, 300L);
      List<ConntrackEntry> finalTable = table;
      for (ConntrackEntry gone : List.of(many.get(1), many.get(2), fresh, badState, badLast))
        assertThat(finalTable).noneMatch(e -> e.key().equals(gone.key()));

      List<ConntrackKernel.Change> deletes =
          many.stream().map(e -> new ConntrackKernel.Change(e, true)).toList();
      assertThat(ct.writeAll(deletes)).containsOnlyNulls(); // two were gone already: no failure
      List<ConntrackEntry> empty = ct.dump();
      for (ConntrackEntry e : many) assertThat(empty).noneMatch(x -> x.key().equals(e.key()));
      assertThat(ct.stats().writeErrors()).isEqualTo(2);
    }
  }

  static ConntrackEntry tcp(int clientPort, Tuple reply, int state, long timeout) {
    return new ConntrackEntry(
        AF_INET,
        PROTO_TCP,
        new Tuple(CLIENT, SERVER, clientPort, 443),
        reply,
        IPS_SEEN_REPLY | IPS_ASSURED,
        timeout,
        state,
        LIBERAL_FLAGS,
        LIBERAL_FLAGS,
        7,
        9,
        -1,
        -1,
        42,
        0);
  }

  static ConntrackEntry find(List<ConntrackEntry> entries, ConntrackEntry wanted) {
    return entries.stream()
        .filter(e -> e.key().equals(wanted.key()))
        .findFirst()
        .orElseThrow(() -> new AssertionError(wanted + " not in " + entries));
  }

  /** Field by field (the timeout counts down), with the status bits the kernel adds. */
  static void assertSameExceptTimeout(
      ConntrackEntry actual, ConntrackEntry expected, int expectedStatus) {
    assertThat(fields(actual))
        .isEqualTo(
            fields(
                expected.withDynamic(
                    expectedStatus, actual.timeoutSeconds(), expected.tcpState())));
    assertThat(actual.timeoutSeconds())
        .isBetween(expected.timeoutSeconds() - 60, expected.timeoutSeconds());
  }

  /** Every field, unlike ConntrackEntry.toString, so that a failure shows what differs. */
  static String fields(ConntrackEntry e) {
    return String.format(
        "family=%d proto=%d %s / %s status=0x%x timeout=%d tcp=%d flags=0x%x/0x%x wscale=%d/%d icmp=%d/%d mark=%d zone=%d",
        e.family(),
        e.protocol(),
        e.original(),
        e.reply(),
        e.status(),
        e.timeoutSeconds(),
        e.tcpState(),
        e.tcpFlagsOriginal(),
        e.tcpFlagsReply(),
        e.wscaleOriginal(),
        e.wscaleReply(),
        e.icmpType(),
        e.icmpCode(),
        e.mark(),
        e.zone());
  }

  static long timeoutOf(String cliLine) {
    return Long.parseLong(cliLine.trim().split("\\s+")[4]);
  }

  /** Runs the conntrack CLI here (inside the lab host) and returns its stdout. */
  static String cli(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("conntrack"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(String.join(" ", cmd)).isZero();
    return out;
  }

  static InetAddress ip(String literal) {
    return InetAddress.ofLiteral(literal);
  }

  /** Collects events; {@link #await} waits for a matching one. */
  static class Events implements ConntrackKernel.Listener {
    final List<ConntrackEntry> all = new ArrayList<>();
    private final BlockingQueue<Object[]> queue = new LinkedBlockingQueue<>();

    @Override
    public void event(EventType type, ConntrackEntry entry) {
      synchronized (all) {
        all.add(entry);
      }
      queue.add(new Object[] {type, entry});
    }

    ConntrackEntry await(EventType type, Predicate<ConntrackEntry> match)
        throws InterruptedException {
      ConntrackEntry e = poll(type, match, 20);
      if (e == null) {
        synchronized (all) {
          throw new AssertionError(
              "no "
                  + type
                  + " event matched; seen "
                  + all.size()
                  + ", the last: "
                  + all.subList(Math.max(0, all.size() - 10), all.size()));
        }
      }
      return e;
    }

    /** The next matching event, skipping others; null when none comes for {@code seconds}. */
    ConntrackEntry poll(EventType type, Predicate<ConntrackEntry> match, int seconds)
        throws InterruptedException {
      while (true) {
        Object[] next = queue.poll(seconds, TimeUnit.SECONDS);
        if (next == null) {
          return null;
        }
        if (next[0] == type && match.test((ConntrackEntry) next[1])) {
          System.out.println("event " + next[0] + " " + next[1]);
          return (ConntrackEntry) next[1];
        }
      }
    }
  }
}
