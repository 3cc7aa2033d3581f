package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The kernel writes {@link SyncCore} decides for received packets, as values, without any kernel:
 * what each message asks of the table, and what a refused write undoes. (SyncCoreTest runs the
 * protocol between two cores whose writes go to in-memory tables.)
 */
class SyncCoreDecisionsTest {
  static final long MS = 1_000_000L;
  static final long S = 1_000 * MS;
  static final int PEER = 0x0a0a0a0a;
  static final int US = 0x0b0b0b0b;

  long now = 1_000 * S;
  final List<String> bulkSteps = new ArrayList<>();
  final SyncCore core =
      new SyncCore(
          new SyncCore.Settings(
              US,
              (long) US << 32,
              Pfsync.payloadBudget(1500) - SyncEnvelope.TRAILER_LENGTH,
              50 * MS,
              2 * MS,
              2 * S,
              30 * S),
          new SyncCore.Observer() {
            @Override
            public void bulkStateChanged(BulkState from, BulkState to, String detail) {
              bulkSteps.add(to.name());
            }
          },
          new SyncCounters(),
          () -> 42);

  List<KernelEffect> receive(PfsyncMessage... messages) {
    byte[] p = PfsyncEncoder.pack(List.of(messages), 1444).getFirst();
    return core.receive(p, 0, p.length, now);
  }

  static PfsyncMessage.Ins ins(ConntrackEntry e, long id) {
    return new PfsyncMessage.Ins(StateMapper.toState(e, id, PEER));
  }

  static PfsyncMessage.UpdC updC(ConntrackEntry e, long id) {
    var s = StateMapper.toState(e, id, PEER);
    return new PfsyncMessage.UpdC(
        s.id(), s.src(), s.dst(), s.creatorid(), s.expire(), s.timeout(), s.stateFlags() & 0xff);
  }

  /** Tells the core that every write succeeded, as the executor does. */
  void allWritten(List<KernelEffect> actions) {
    for (KernelEffect a : actions) if (a instanceof KernelEffect.Write w) core.written(w);
    core.executed();
  }

  @Test
  void aPeersNewStateIsOneCreateWithBeLiberalAndCountsAsAppliedOnlyOnceWritten() {
    ConntrackEntry e = Entries.tcp(40000, ConntrackEntry.TCP_ESTABLISHED);
    List<KernelEffect> actions = receive(ins(e, 1));
    assertThat(actions).singleElement().isInstanceOf(KernelEffect.Create.class);
    ConntrackEntry written = ((KernelEffect.Create) actions.getFirst()).entry();
    assertThat(written.key()).isEqualTo(e.key());
    assertThat(written.tcpFlagsOriginal() & ConntrackEntry.TCP_FLAG_BE_LIBERAL).isNotZero();
    assertThat(core.tableSize()).isEqualTo(1);
    assertThat(core.counters().statesApplied.get()).isZero();
    allWritten(actions);
    assertThat(core.counters().statesApplied.get()).isEqualTo(1);
  }

  @Test
  void aCompressedUpdateOfAKnownStateIsAnUpdateAndOfAnUnknownOneARequest() {
    ConntrackEntry e = Entries.tcp(40001, ConntrackEntry.TCP_ESTABLISHED);
    allWritten(receive(ins(e, 1)));
    ConntrackEntry closing = e.withDynamic(e.status(), 120, ConntrackEntry.TCP_FIN_WAIT);
    List<KernelEffect> actions = receive(updC(closing, 1));
    assertThat(actions).singleElement().isInstanceOf(KernelEffect.Update.class);
    assertThat(((KernelEffect.Update) actions.getFirst()).entry().tcpState())
        .isEqualTo(ConntrackEntry.TCP_FIN_WAIT);

    assertThat(receive(updC(closing, 2))).as("unknown id: nothing to write").isEmpty();
    assertThat(core.counters().updatesRequested.get()).isEqualTo(1);
  }

  @Test
  void aStaleUpdateWritesNothing() {
    ConntrackEntry e = Entries.tcp(40002, ConntrackEntry.TCP_FIN_WAIT);
    allWritten(receive(ins(e, 1)));
    assertThat(receive(updC(e.withDynamic(e.status(), 400, ConntrackEntry.TCP_ESTABLISHED), 1)))
        .isEmpty();
    assertThat(core.counters().staleUpdates.get()).isEqualTo(1);
  }

  @Test
  void aStateWhoseNatChangedIsDeletedAndCreatedAgain() {
    ConntrackEntry plain = Entries.tcp(40003, ConntrackEntry.TCP_ESTABLISHED);
    allWritten(receive(ins(plain, 1)));
    ConntrackEntry natted = Entries.tcpSnat(40003, 61003);
    List<KernelEffect> actions =
        receive(new PfsyncMessage.Upd(StateMapper.toState(natted, 2, PEER)));
    assertThat(actions).hasSize(2);
    assertThat(actions.get(0)).isInstanceOf(KernelEffect.Delete.class);
    assertThat(actions.get(1)).isInstanceOf(KernelEffect.Create.class);
    assertThat(((KernelEffect.Write) actions.get(0)).entry().reply()).isEqualTo(plain.reply());
    assertThat(((KernelEffect.Write) actions.get(1)).entry().reply()).isEqualTo(natted.reply());
  }

  @Test
  void deletionsAndClearsAreDeletesButNeverOfOurOwnStates() {
    ConntrackEntry a = Entries.tcp(40004, ConntrackEntry.TCP_ESTABLISHED);
    ConntrackEntry b = Entries.tcp(40005, ConntrackEntry.TCP_ESTABLISHED);
    allWritten(receive(ins(a, 1), ins(b, 2)));
    assertThat(receive(new PfsyncMessage.DelC(1, PEER)))
        .singleElement()
        .isInstanceOf(KernelEffect.Delete.class);
    assertThat(receive(new PfsyncMessage.Clr("", PEER)))
        .singleElement()
        .satisfies(d -> assertThat(((KernelEffect.Delete) d).entry().key()).isEqualTo(b.key()));
    assertThat(core.tableSize()).isZero();

    ConntrackEntry own = Entries.tcp(40006, ConntrackEntry.TCP_ESTABLISHED);
    core.kernelEvent(ConntrackKernel.EventType.NEW, own, now);
    assertThat(receive(new PfsyncMessage.Clr("", US))).isEmpty();
    assertThat(core.tableSize()).isEqualTo(1);
  }

  @Test
  void aBulkRequestIsServedFromTheTableAtOnceWithTheStatesOfItsPacket() {
    ConntrackEntry e = Entries.tcp(40007, ConntrackEntry.TCP_ESTABLISHED);
    List<KernelEffect> actions = receive(PfsyncMessage.UpdReq.BULK, ins(e, 1));
    assertThat(actions).as("no dump of the kernel first").singleElement();
    assertThat(actions.getFirst()).isInstanceOf(KernelEffect.Create.class);
    allWritten(actions);
    assertThat(core.bulkSending()).isTrue();
    assertThat(core.counters().bulksServed.get()).isEqualTo(1);
    assertThat(receive(PfsyncMessage.UpdReq.BULK))
        .as("a request while the bulk is under way extends it")
        .isEmpty();
    assertThat(core.counters().bulksServed.get()).isEqualTo(1);
    assertThat(sentUntilTheBulkEnds())
        .containsExactly("BUS START", "UPD 40007", "BUS END")
        .as("the state the packet brought is in the bulk");
  }

  @Test
  void aStateGoneAfterTheBulkStartedIsNotSentAndAChangedOneIsSentAsItIsNow() {
    ConntrackEntry gone = Entries.tcp(40010, ConntrackEntry.TCP_ESTABLISHED);
    ConntrackEntry changed = Entries.tcp(40011, ConntrackEntry.TCP_ESTABLISHED);
    core.start(now, List.of(gone, changed), false);
    assertThat(receive(PfsyncMessage.UpdReq.BULK)).isEmpty();
    core.kernelEvent(ConntrackKernel.EventType.DESTROY, gone, now);
    ConntrackEntry closing =
        changed.withDynamic(changed.status(), 120, ConntrackEntry.TCP_FIN_WAIT);
    core.kernelEvent(ConntrackKernel.EventType.UPDATE, closing, now);
    assertThat(sentUntilTheBulkEnds()).containsExactly("BUS START", "UPD 40011", "BUS END");
    assertThat(bulkStates)
        .singleElement()
        .satisfies(s -> assertThat(s.tcpState()).isEqualTo(ConntrackEntry.TCP_FIN_WAIT));
  }

  /** The states of the bulk {@link #sentUntilTheBulkEnds} saw last. */
  final List<ConntrackEntry> bulkStates = new ArrayList<>();

  /** Polls until BUS END has gone: the bulk's messages, as "BUS START", "UPD port", "BUS END". */
  List<String> sentUntilTheBulkEnds() {
    bulkStates.clear();
    List<String> seen = new ArrayList<>();
    for (int polls = 0; polls < 100 && core.bulkSending(); polls++) {
      now += 2 * MS;
      for (SyncCore.Outgoing o : core.pollPackets(now)) {
        var d = (PfsyncDecodeResult.Decoded) PfsyncDecoder.decode(o.pfsync());
        for (PfsyncMessage m : d.messages()) {
          switch (m) {
            case PfsyncMessage.Bus b ->
                seen.add(b.status() == PfsyncMessage.Bus.START ? "BUS START" : "BUS END");
            case PfsyncMessage.Upd u -> {
              ConntrackEntry e = StateMapper.toEntry(u.state()).entry();
              bulkStates.add(e);
              seen.add("UPD " + e.original().sourcePort());
            }
            default -> {}
          }
        }
      }
    }
    return seen;
  }

  @Test
  void aRefusedCreateLeavesTheStateUnknownSoItsNextUpdateIsARequest() {
    ConntrackEntry e = Entries.tcp(40008, ConntrackEntry.TCP_ESTABLISHED);
    var create = (KernelEffect.Write) receive(ins(e, 1)).getFirst();
    core.writeFailed(create, new ConntrackException("refused", 22));
    core.executed();
    assertThat(core.tableSize()).isZero();
    assertThat(core.counters().statesRejected("kernel_create")).isEqualTo(1);
    assertThat(core.counters().statesApplied.get()).isZero();
    assertThat(receive(updC(e, 1))).isEmpty();
    assertThat(core.counters().updatesRequested.get()).isEqualTo(1);
  }

  @Test
  void aRefusedUpdateLeavesOurCopyAsItWas() {
    ConntrackEntry e = Entries.tcp(40009, ConntrackEntry.TCP_ESTABLISHED);
    allWritten(receive(ins(e, 1)));
    ConntrackEntry closing = e.withDynamic(e.status(), 120, ConntrackEntry.TCP_FIN_WAIT);
    var update = (KernelEffect.Write) receive(updC(closing, 1)).getFirst();
    core.writeFailed(update, new ConntrackException("refused", 22));
    assertThat(core.counters().statesRejected("kernel_update")).isEqualTo(1);
    // The same update again is written again: our copy is still ESTABLISHED, not FIN_WAIT.
    assertThat(receive(updC(closing, 1))).singleElement().isEqualTo(update);
  }

  @Test
  void theBulkIsDoneOnlyOnceTheWritesOfItsLastPacketAreCarriedOut() {
    core.start(now, List.of(), true);
    core.poll(now);
    assertThat(receive(new PfsyncMessage.Bus(PEER, 0, PfsyncMessage.Bus.START))).isEmpty();
    assertThat(bulkSteps).containsExactly("REQUESTING", "RECEIVING");
    ConntrackEntry e = Entries.tcp(40010, ConntrackEntry.TCP_ESTABLISHED);
    List<KernelEffect> actions =
        receive(
            new PfsyncMessage.Upd(StateMapper.toState(e, 1, PEER)),
            new PfsyncMessage.Bus(PEER, 0, PfsyncMessage.Bus.END));
    assertThat(core.bulkState()).isEqualTo(BulkState.DONE);
    assertThat(bulkSteps).as("told after the writes").containsExactly("REQUESTING", "RECEIVING");
    allWritten(actions);
    assertThat(bulkSteps).containsExactly("REQUESTING", "RECEIVING", "DONE");
  }

  // A Service of policy Cluster whose pod runs on a node of the cluster: client C connects to the
  // Service address V; the master M translates (DNAT to the pod P, SNAT to itself), and P's node
  // tracks the second leg M -> P untranslated. Both entries have the reply tuple P -> M.
  static final ConntrackEntry.Tuple CLIENT_TO_SERVICE =
      new ConntrackEntry.Tuple(Entries.ip("198.51.100.10"), Entries.ip("203.0.113.200"), 40000, 80);
  static final ConntrackEntry.Tuple POD_TO_MASTER =
      new ConntrackEntry.Tuple(Entries.ip("10.244.1.5"), Entries.ip("192.0.2.11"), 8080, 61000);

  static ConntrackEntry serviceEntry(ConntrackEntry.Tuple original, int nat) {
    return new ConntrackEntry(
        ConntrackEntry.AF_INET,
        ConntrackEntry.PROTO_TCP,
        original,
        POD_TO_MASTER,
        ConntrackEntry.IPS_SEEN_REPLY
            | ConntrackEntry.IPS_ASSURED
            | ConntrackEntry.IPS_CONFIRMED
            | nat,
        432000,
        ConntrackEntry.TCP_ESTABLISHED,
        0,
        0,
        0,
        0,
        -1,
        -1,
        0,
        0);
  }

  static final ConntrackEntry TRANSLATED =
      serviceEntry(CLIENT_TO_SERVICE, ConntrackEntry.IPS_SRC_NAT | ConntrackEntry.IPS_DST_NAT);
  static final ConntrackEntry SECOND_LEG = serviceEntry(POD_TO_MASTER.inverted(), 0);

  @Test
  void aTranslatedStateTakesThePlaceOfAPeersUntranslatedOneWithTheSameReply() {
    allWritten(receive(ins(SECOND_LEG, 1)));
    List<KernelEffect> actions = receive(ins(TRANSLATED, 2));
    assertThat(actions).hasSize(2);
    assertThat(((KernelEffect.Delete) actions.getFirst()).entry().key())
        .isEqualTo(SECOND_LEG.key());
    assertThat(((KernelEffect.Create) actions.getLast()).entry().key()).isEqualTo(TRANSLATED.key());
    allWritten(actions);
    assertThat(core.tableSize()).isEqualTo(1);
    assertThat(core.counters().replyClashesResolved.get()).isEqualTo(1);

    // The second leg again (a refresh from the pod's node): the translated state stays.
    assertThat(receive(ins(SECOND_LEG, 1))).isEmpty();
    assertThat(core.counters().statesRejected("reply_clash")).isEqualTo(1);
  }

  @Test
  void anUntranslatedStateDoesNotGoInWhereATranslatedOneHasItsReply() {
    allWritten(receive(ins(TRANSLATED, 2)));
    assertThat(receive(ins(SECOND_LEG, 1))).isEmpty();
    assertThat(core.tableSize()).isEqualTo(1);
    assertThat(core.counters().statesRejected("reply_clash")).isEqualTo(1);
  }

  @Test
  void aStateOfOurOwnIsNeverReplacedByAPeersClashingOne() {
    // We are the pod's node: the second leg is ours.
    core.kernelEvent(ConntrackKernel.EventType.NEW, SECOND_LEG, now);
    assertThat(receive(ins(TRANSLATED, 2))).isEmpty();
    assertThat(core.tableSize()).isEqualTo(1);
    assertThat(core.counters().statesRejected("reply_clash")).isEqualTo(1);
    assertThat(core.counters().replyClashesResolved.get()).isZero();
  }
}
