package dev.carpoperator.agent.sync;

import static dev.carpoperator.agent.sync.Entries.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfAddr;
import dev.carpoperator.agent.pfsync.PfPeerState;
import dev.carpoperator.agent.pfsync.PfStateFlags;
import dev.carpoperator.agent.pfsync.PfTimeout;
import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncState;
import dev.carpoperator.agent.pfsync.StateKey;
import dev.carpoperator.agent.pfsync.StatePeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/protocols/conntrack.md §2–4: keys, NAT, TCP states and timeout classes between conntrack and
 * pf.
 */
class StateMapperTest {

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9})
  void everyLinuxTcpStateSurvivesTheRoundTrip(int linuxState) {
    ConntrackEntry e = Entries.tcp(40000, linuxState);
    PfsyncState s = StateMapper.toState(e, 1, 7);
    assertThat(StateMapper.toEntry(s).entry().tcpState()).isEqualTo(linuxState);
  }

  @Test
  void closeInitiatedByTheResponderPutsTheResponderAhead() {
    ConntrackEntry e =
        Entries.tcp(40000, ConntrackEntry.TCP_FIN_WAIT)
            .withTcpFlags(0, ConntrackEntry.TCP_FLAG_CLOSE_INIT);
    PfsyncState s = StateMapper.toState(e, 1, 7);
    assertThat(s.src().state()).isEqualTo(PfPeerState.TCPS_ESTABLISHED);
    assertThat(s.dst().state()).isEqualTo(PfPeerState.TCPS_FIN_WAIT_1);
  }

  @Test
  void anEntryIsExportedAsAFloatingInboundStateWithSloppyTracking() {
    ConntrackEntry e = Entries.tcp(40000, ConntrackEntry.TCP_ESTABLISHED);
    PfsyncState s = StateMapper.toState(e, 0x1234, 0xcafe);
    assertThat(s.id()).isEqualTo(0x1234);
    assertThat(s.creatorid()).isEqualTo(0xcafe);
    assertThat(s.ifname()).isEqualTo("all");
    assertThat(s.direction()).isEqualTo(Pfsync.PF_IN);
    assertThat(s.af()).isEqualTo(Pfsync.AF_INET);
    assertThat(s.wireKey())
        .isEqualTo(
            new StateKey(
                PfAddr.of(ip("198.51.100.10")), PfAddr.of(ip("203.0.113.10")), 40000, 80, 0, 2));
    assertThat(s.stackKey()).isEqualTo(s.wireKey());
    assertThat(s.stateFlags()).isEqualTo(PfStateFlags.SLOPPY);
    assertThat(s.timeout()).isEqualTo(PfTimeout.TCP_ESTABLISHED.index());
    assertThat(s.expire()).isEqualTo(432000);
    assertThat(s.src().wscale()).isEqualTo(Pfsync.PF_WSCALE_FLAG | 7);
    assertThat(s.dst().wscale()).isEqualTo(Pfsync.PF_WSCALE_FLAG | 9);
    assertThat(s.src().seqlo()).as("Linux has no windows to give").isZero();
  }

  @Test
  void sourceNatShowsAsStackKeyDifferingFromWireKeyAndComesBack() {
    ConntrackEntry e = Entries.tcpSnat(40000, 61000);
    PfsyncState s = StateMapper.toState(e, 1, 7);
    assertThat(s.stackKey().addr0()).isEqualTo(PfAddr.of(ip("203.0.113.1")));
    assertThat(s.stackKey().port0()).isEqualTo(61000);
    ConntrackEntry back = StateMapper.toEntry(s).entry();
    assertThat(back.original()).isEqualTo(e.original());
    assertThat(back.reply()).isEqualTo(e.reply());
    assertThat(back.sourceNat()).isTrue();
    assertThat(back.destinationNat()).isFalse();
  }

  @Test
  void anOutboundStateWithNatToFromAPfPeerIsReadByTheOtherOrientation() {
    // pf "out" on the WAN interface with nat-to 203.0.113.1: stack key = pre-NAT, addr[1] = the
    // source (sidx 1).
    StateKey stack =
        new StateKey(
            PfAddr.of(ip("203.0.113.10")),
            PfAddr.of(ip("198.51.100.10")),
            80,
            40000,
            0,
            Pfsync.AF_INET);
    StateKey wire =
        new StateKey(
            PfAddr.of(ip("203.0.113.10")),
            PfAddr.of(ip("203.0.113.1")),
            80,
            55000,
            0,
            Pfsync.AF_INET);
    PfsyncState s =
        PfsyncState.builder()
            .id(9)
            .creatorid(3)
            .ifname("em1")
            .wireKey(wire)
            .stackKey(stack)
            .src(StatePeer.of(PfPeerState.TCPS_ESTABLISHED, 100, 200, 0, 65535, 1460, 0))
            .dst(StatePeer.of(PfPeerState.TCPS_ESTABLISHED, 300, 400, 0, 65535, 1460, 0))
            .expire(86400)
            .timeout(2)
            .af(Pfsync.AF_INET)
            .proto(6)
            .direction(Pfsync.PF_OUT)
            .build();
    ConntrackEntry e = StateMapper.toEntry(s).entry();
    assertThat(e.original())
        .isEqualTo(new ConntrackEntry.Tuple(ip("198.51.100.10"), ip("203.0.113.10"), 40000, 80));
    assertThat(e.reply())
        .isEqualTo(new ConntrackEntry.Tuple(ip("203.0.113.10"), ip("203.0.113.1"), 80, 55000));
    assertThat(e.sourceNat()).isTrue();
    assertThat(e.tcpState()).isEqualTo(ConntrackEntry.TCP_ESTABLISHED);
    assertThat(e.tcpFlagsOriginal() & ConntrackEntry.TCP_FLAG_BE_LIBERAL)
        .as("windows unknown: liberal")
        .isNotZero();
    assertThat(e.timeoutSeconds()).isEqualTo(86400);
  }

  @Test
  void ipv6UsesOpenBsdsAddressFamilyNumberOnTheWire() {
    PfsyncState s = StateMapper.toState(Entries.tcp6(40000), 1, 7);
    assertThat(s.af()).isEqualTo(Pfsync.AF_INET6);
    assertThat(StateMapper.toEntry(s).entry())
        .isEqualTo(
            Entries.tcp6(40000)
                .withTcpFlags(
                    ConntrackEntry.TCP_FLAG_BE_LIBERAL, ConntrackEntry.TCP_FLAG_BE_LIBERAL));
  }

  @Test
  void udpReplyAndAssuranceMapToPeerStatesAndBack() {
    ConntrackEntry fresh = Entries.udp(5000, 0, 30);
    ConntrackEntry assured =
        Entries.udp(5000, ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED, 120);
    assertThat(StateMapper.toState(fresh, 1, 7).dst().state()).isEqualTo(PfPeerState.NO_TRAFFIC);
    assertThat(StateMapper.toState(fresh, 1, 7).timeout()).isEqualTo(PfTimeout.UDP_SINGLE.index());
    assertThat(StateMapper.toEntry(StateMapper.toState(assured, 1, 7)).entry().status())
        .isEqualTo(ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED);
    assertThat(StateMapper.toEntry(StateMapper.toState(fresh, 1, 7)).entry().status()).isZero();
  }

  @Test
  void statesThatCannotBecomeEntriesAreRefusedWithAReason() {
    PfsyncState ok = StateMapper.toState(Entries.tcp(40000, 3), 1, 7);
    assertThat(StateMapper.toEntry(ok.toBuilder().creatorid(0).build()).refusal())
        .isEqualTo(StateMapper.Refusal.ZERO_CREATOR);
    assertThat(StateMapper.toEntry(ok.toBuilder().expire(0).build()).refusal())
        .isEqualTo(StateMapper.Refusal.EXPIRED);
    assertThat(StateMapper.toEntry(ok.toBuilder().af(28).build()).refusal())
        .isEqualTo(StateMapper.Refusal.UNSUPPORTED_FAMILY);
    assertThat(StateMapper.toEntry(ok.toBuilder().direction(0).build()).refusal())
        .isEqualTo(StateMapper.Refusal.UNSUPPORTED_DIRECTION);
  }

  @Test
  void conntrackZoneTravelsAsTheRoutingDomain() {
    ConntrackEntry e = Entries.tcp(40000, ConntrackEntry.TCP_ESTABLISHED);
    ConntrackEntry zoned =
        new ConntrackEntry(
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
            -1,
            -1,
            0,
            7);
    PfsyncState s = StateMapper.toState(zoned, 1, 7);
    assertThat(s.wireKey().rdomain()).isEqualTo(7);
    assertThat(StateMapper.toEntry(s).entry().key()).isEqualTo(zoned.key());
  }
}
