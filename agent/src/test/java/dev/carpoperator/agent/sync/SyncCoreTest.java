package dev.carpoperator.agent.sync;

import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.DESTROY;
import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.NEW;
import static dev.carpoperator.agent.sync.ConntrackKernel.EventType.UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The sync protocol between two cores over an in-memory wire, with a fake clock and in-memory
 * kernel tables.
 */
class SyncCoreTest {
  static final long MS = 1_000_000L;
  static final long S = 1_000 * MS;

  /** One node: its core, its kernel table, what it sent. */
  static final class Node {
    final InMemoryConntrack kernel = new InMemoryConntrack();
    final List<BulkState> bulkStates = new ArrayList<>();
    int tableSizeWhenDone = -1;
    final SyncCore core;
    final KernelExecutor executor;
    final List<byte[]> sent = new ArrayList<>();

    Node(int hostId) {
      var settings =
          new SyncCore.Settings(
              hostId,
              (long) hostId << 32,
              Pfsync.payloadBudget(1500) - SyncEnvelope.TRAILER_LENGTH,
              50 * MS,
              2 * MS,
              2 * S,
              30 * S);
      core =
          new SyncCore(
              settings,
              new SyncCore.Observer() {
                @Override
                public void bulkStateChanged(BulkState from, BulkState to, String detail) {
                  bulkStates.add(to);
                  if (to == BulkState.DONE) tableSizeWhenDone = kernel.table.size();
                }
              },
              new SyncCounters());
      executor = new KernelExecutor(kernel, core);
    }

    /** A packet off the wire, as the engine takes it: the core decides, the executor writes. */
    void receive(byte[] packet, long now) {
      executor.execute(core.receive(packet, 0, packet.length, now));
    }
  }

  long now = 1_000 * S;
  final Node a = new Node(0x0a0a0a0a);
  final Node b = new Node(0x0b0b0b0b);

  /** Advances the clock in steps, delivering every packet either node sends to the other. */
  void run(long duration) {
    long end = now + duration;
    while (now < end) {
      exchange();
      now += MS;
    }
    exchange();
  }

  void exchange() {
    for (int round = 0; round < 10; round++) {
      List<byte[]> fromA = a.core.poll(now);
      List<byte[]> fromB = b.core.poll(now);
      a.sent.addAll(fromA);
      b.sent.addAll(fromB);
      if (fromA.isEmpty() && fromB.isEmpty()) return;
      for (byte[] p : fromA) b.receive(p, now);
      for (byte[] p : fromB) a.receive(p, now);
    }
  }

  static List<PfsyncMessage> messages(List<byte[]> packets) {
    List<PfsyncMessage> out = new ArrayList<>();
    for (byte[] p : packets)
      out.addAll(((PfsyncDecodeResult.Decoded) PfsyncDecoder.decode(p)).messages());
    return out;
  }

  void startBoth() {
    a.core.start(now, List.of(), false);
    b.core.start(now, List.of(), false);
  }

  @Test
  void newConnectionReachesThePeerAsInsertAndLandsInItsKernelLiberally() {
    startBoth();
    ConntrackEntry e = Entries.tcp(40000, ConntrackEntry.TCP_ESTABLISHED);
    a.kernel.apply(e);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);

    assertThat(messages(a.sent)).singleElement().isInstanceOf(PfsyncMessage.Ins.class);
    ConntrackEntry copy = b.kernel.table.get(e.key());
    assertThat(copy).isNotNull();
    assertThat(copy.reply()).isEqualTo(e.reply());
    assertThat(copy.tcpState()).isEqualTo(ConntrackEntry.TCP_ESTABLISHED);
    assertThat(copy.tcpFlagsOriginal() & ConntrackEntry.TCP_FLAG_BE_LIBERAL).isNotZero();
    assertThat(copy.wscaleOriginal()).isEqualTo(7);
    assertThat(copy.wscaleReply()).isEqualTo(9);
    assertThat(copy.timeoutSeconds()).isEqualTo(432000);
    assertThat(b.core.counters().statesApplied.get()).isEqualTo(1);
    assertThat(b.sent).as("the receiver does not echo").isEmpty();
  }

  @Test
  void sourceNatMappingIsRecreatedOnThePeer() {
    startBoth();
    ConntrackEntry e = Entries.tcpSnat(40001, 61001);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);
    ConntrackEntry copy = b.kernel.table.get(e.key());
    assertThat(copy.reply()).isEqualTo(e.reply());
    assertThat(copy.sourceNat()).isTrue();
    assertThat(copy.destinationNat()).isFalse();
  }

  @Test
  void changesAreBatchedWithinTheDelayAndFillPackets() {
    startBoth();
    for (int i = 0; i < 100; i++)
      a.core.kernelEvent(NEW, Entries.tcp(41000 + i, ConntrackEntry.TCP_ESTABLISHED), now);
    // Full packets go at once; the remainder waits for the delay.
    List<byte[]> immediately = a.core.poll(now);
    assertThat(immediately).hasSize(20); // 5 states of 264 bytes per 1444-byte budget
    for (byte[] p : immediately) b.receive(p, now);
    assertThat(b.kernel.table).hasSize(100);

    // Polled after every event, as the runtime does: packets still go out (nearly) full.
    List<byte[]> eventByEvent = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      a.core.kernelEvent(NEW, Entries.tcp(47000 + i, ConntrackEntry.TCP_ESTABLISHED), now);
      eventByEvent.addAll(a.core.poll(now));
    }
    eventByEvent.addAll(a.core.poll(now + 50 * MS));
    assertThat(eventByEvent).hasSizeLessThanOrEqualTo(22);

    a.core.kernelEvent(NEW, Entries.tcp(42000, ConntrackEntry.TCP_ESTABLISHED), now);
    assertThat(a.core.poll(now + 49 * MS)).isEmpty();
    assertThat(a.core.poll(now + 50 * MS)).hasSize(1);
  }

  @Test
  void updateTravelsCompressedAndDeleteRemovesThePeersCopy() {
    startBoth();
    ConntrackEntry e = Entries.tcp(40002, ConntrackEntry.TCP_ESTABLISHED);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);
    ConntrackEntry closing = e.withDynamic(e.status(), 120, ConntrackEntry.TCP_FIN_WAIT);
    a.core.kernelEvent(UPDATE, closing, now);
    run(100 * MS);
    assertThat(messages(a.sent)).last().isInstanceOf(PfsyncMessage.UpdC.class);
    assertThat(b.kernel.table.get(e.key()).tcpState()).isEqualTo(ConntrackEntry.TCP_FIN_WAIT);
    assertThat(b.kernel.table.get(e.key()).timeoutSeconds()).isEqualTo(120);

    a.core.kernelEvent(DESTROY, closing, now);
    run(100 * MS);
    assertThat(messages(a.sent)).last().isInstanceOf(PfsyncMessage.DelC.class);
    assertThat(b.kernel.table).isEmpty();
    assertThat(b.core.tableSize()).isZero();
  }

  @Test
  void aConnectionOpenedAndClosedWithinTheDelayIsNeverSent() {
    startBoth();
    ConntrackEntry e = Entries.tcp(40003, ConntrackEntry.TCP_SYN_SENT);
    a.core.kernelEvent(NEW, e, now);
    a.core.kernelEvent(UPDATE, e.withDynamic(e.status(), 100, ConntrackEntry.TCP_ESTABLISHED), now);
    a.core.kernelEvent(DESTROY, e, now);
    run(200 * MS);
    assertThat(a.sent).isEmpty();
  }

  @Test
  void compressedUpdateForAnUnknownStateIsAnsweredByRequestAndFullUpdate() {
    startBoth();
    ConntrackEntry e = Entries.tcp(40004, ConntrackEntry.TCP_ESTABLISHED);
    a.core.kernelEvent(NEW, e, now);
    a.core.poll(now + S); // the INS is lost on the wire
    a.core.kernelEvent(
        UPDATE, e.withDynamic(e.status(), 400000, ConntrackEntry.TCP_ESTABLISHED), now);
    run(200 * MS);
    assertThat(messages(b.sent))
        .singleElement()
        .isEqualTo(new PfsyncMessage.UpdReq((long) 0x0a0a0a0a << 32, 0x0a0a0a0a));
    assertThat(messages(a.sent)).last().isInstanceOf(PfsyncMessage.Upd.class);
    assertThat(b.kernel.table).containsKey(e.key());
    assertThat(b.core.counters().updatesRequested.get()).isEqualTo(1);
  }

  @Test
  void anEntryThatMerelyExpiresOnTheBackupDoesNotDeleteTheMastersState() {
    startBoth();
    ConntrackEntry e =
        Entries.udp(5353, ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED, 120);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);
    assertThat(b.kernel.table).containsKey(e.key());
    b.kernel.table.clear();
    b.core.kernelEvent(DESTROY, e, now); // timed out on b, where no traffic flows
    run(100 * MS);
    assertThat(b.sent).isEmpty();
    assertThat(a.core.tableSize()).isEqualTo(1);
  }

  @Test
  void afterFailoverTheNewMasterAnnouncesDeletionOfStatesItCarriedTraffic() {
    startBoth();
    ConntrackEntry e = Entries.tcp(40005, ConntrackEntry.TCP_ESTABLISHED);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);
    // b took over; the connection closes through b
    b.core.kernelEvent(UPDATE, e.withDynamic(e.status(), 120, ConntrackEntry.TCP_TIME_WAIT), now);
    b.core.kernelEvent(DESTROY, e, now);
    run(100 * MS);
    assertThat(messages(b.sent))
        .last()
        .isEqualTo(new PfsyncMessage.DelC((long) 0x0a0a0a0a << 32, 0x0a0a0a0a));
    assertThat(a.core.tableSize()).isZero();
  }

  @Test
  void staleUpdateIsRefusedAndTheNewerStateReannounced() {
    startBoth();
    ConntrackEntry e = Entries.tcp(40006, ConntrackEntry.TCP_ESTABLISHED);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);
    b.core.kernelEvent(UPDATE, e.withDynamic(e.status(), 120, ConntrackEntry.TCP_FIN_WAIT), now);
    // a's update saying ESTABLISHED crosses b's FIN_WAIT on the wire
    a.core.kernelEvent(
        UPDATE, e.withDynamic(e.status(), 431000, ConntrackEntry.TCP_ESTABLISHED), now);
    run(200 * MS);
    assertThat(b.core.counters().staleUpdates.get()).isEqualTo(1);
    assertThat(a.kernel.table.get(e.key()).tcpState()).isEqualTo(ConntrackEntry.TCP_FIN_WAIT);
  }

  @Test
  void lateJoinerGetsTheWholeTableByBulkUpdatePacedAndInOrder() {
    a.core.start(now, List.of(), false);
    for (int i = 0; i < 50; i++) {
      ConntrackEntry e = Entries.tcp(43000 + i, ConntrackEntry.TCP_ESTABLISHED);
      a.kernel.apply(e);
      a.core.kernelEvent(NEW, e, now);
    }
    a.core.poll(now + S); // sent before b existed
    assertThat(a.core.refreshWaits()).isFalse();
    b.core.start(now, List.of(), true);
    assertThat(b.core.bulkState()).isEqualTo(BulkState.REQUESTING);
    exchange();
    assertThat(b.core.bulkState()).as("paced: one packet per 2 ms").isEqualTo(BulkState.RECEIVING);
    assertThat(a.core.refreshWaits()).as("the sender's periodic dump waits").isTrue();
    assertThat(b.core.refreshWaits()).as("and the receiver's").isTrue();
    run(100 * MS);
    assertThat(b.bulkStates)
        .containsExactly(BulkState.REQUESTING, BulkState.RECEIVING, BulkState.DONE);
    assertThat(a.core.refreshWaits()).isFalse();
    assertThat(b.core.refreshWaits()).isFalse();
    assertThat(b.kernel.table).hasSize(50);
    assertThat(b.core.bulkReceived()).isEqualTo(50);
    List<PfsyncMessage> bulk = messages(a.sent);
    assertThat(bulk.getFirst())
        .isEqualTo(new PfsyncMessage.Bus(0x0a0a0a0a, 0, PfsyncMessage.Bus.START));
    assertThat(bulk.getLast())
        .isEqualTo(new PfsyncMessage.Bus(0x0a0a0a0a, 0, PfsyncMessage.Bus.END));
    assertThat(a.sent)
        .hasSize(11); // BUS START alone, then 50 states at 5 per packet, BUS END riding along
  }

  @Test
  void bulkPacketsFollowTheIntervalNotThePollFrequencyAndALatePollCatchesUpOnlySoFar() {
    a.core.start(now, List.of(), false);
    for (int i = 0; i < 500; i++) {
      ConntrackEntry e = Entries.tcp(20000 + i, ConntrackEntry.TCP_ESTABLISHED);
      a.kernel.apply(e);
      a.core.kernelEvent(NEW, e, now);
    }
    a.core.poll(now + S); // sent before b existed
    now += S;
    b.core.start(now, List.of(), true);
    exchange(); // b asks, a starts serving (BUS START)
    int before = a.sent.size();
    // polled every 10 ms, an interval of 2 ms: 5 packets per poll, as when polled every 2 ms
    for (int i = 1; i <= 3; i++) a.sent.addAll(a.core.poll(now + i * 10 * MS));
    assertThat(a.sent.size() - before).isEqualTo(15);
    // a poll a second late sends the packets of MAX_BULK_PACKETS_PER_POLL slots, not 500
    before = a.sent.size();
    a.sent.addAll(a.core.poll(now + 1030 * MS));
    assertThat(a.sent.size() - before).isEqualTo(SyncCore.MAX_BULK_PACKETS_PER_POLL + 1);
  }

  @Test
  void aRequestDuringABulkWrapsAroundInsteadOfStartingOver() {
    a.core.start(now, List.of(), false);
    for (int i = 0; i < 500; i++) {
      ConntrackEntry e = Entries.tcp(20000 + i, ConntrackEntry.TCP_ESTABLISHED);
      a.kernel.apply(e);
      a.core.kernelEvent(NEW, e, now);
    }
    a.core.poll(now + S);
    now += S;
    a.sent.clear();
    b.core.start(now, List.of(), true);
    exchange(); // b asks, a starts serving (BUS START)
    for (int i = 1; i <= 3; i++) a.sent.addAll(a.core.poll(now + i * 10 * MS));
    long sentBefore = messages(a.sent).stream().filter(m -> m instanceof PfsyncMessage.Upd).count();
    assertThat(sentBefore).isPositive().isLessThan(500);
    int dumps = a.kernel.dumps;

    // The same request again (a retry, or a second peer joining): no new dump, no restart from the
    // first state.
    byte[] again =
        dev.carpoperator.agent.pfsync.PfsyncEncoder.pack(
                List.of(new PfsyncMessage.UpdReq(0, 0)), 1444)
            .getFirst();
    a.receive(again, now + 30 * MS);
    now += 30 * MS;
    run(S);

    List<PfsyncMessage> all = messages(a.sent);
    assertThat(a.kernel.dumps).isEqualTo(dumps);
    assertThat(all.stream().filter(m -> m instanceof PfsyncMessage.Upd).count())
        .isEqualTo(500 + sentBefore);
    assertThat(
            all.stream()
                .filter(
                    m ->
                        m instanceof PfsyncMessage.Bus bus
                            && bus.status() == PfsyncMessage.Bus.START)
                .count())
        .isEqualTo(2);
    // Everything after the second START is every state once: what a peer that joined there needs.
    List<PfsyncMessage> afterSecondStart =
        all.subList(
            all.lastIndexOf(new PfsyncMessage.Bus(0x0a0a0a0a, 0, PfsyncMessage.Bus.START)),
            all.size());
    assertThat(
            afterSecondStart.stream()
                .filter(m -> m instanceof PfsyncMessage.Upd)
                .map(m -> ((PfsyncMessage.Upd) m).state().id())
                .distinct()
                .count())
        .isEqualTo(500);
    assertThat(b.core.bulkState()).isEqualTo(BulkState.DONE);
    assertThat(b.kernel.table).hasSize(500);
  }

  @Test
  void aSecondBulkRequestBringsTheStatesCreatedWhileCutOff() {
    a.core.start(now, List.of(), false);
    b.core.start(now, List.of(), true);
    run(100 * MS);
    assertThat(b.core.bulkState()).isEqualTo(BulkState.DONE);
    // b is cut off: a's new states never reach it
    for (int i = 0; i < 20; i++) {
      ConntrackEntry e = Entries.tcp(47000 + i, ConntrackEntry.TCP_ESTABLISHED);
      a.kernel.apply(e);
      a.core.kernelEvent(NEW, e, now);
    }
    a.core.poll(now + S);
    now += S;
    assertThat(b.kernel.table).isEmpty();

    b.core.requestBulk(now, "the sync link is back");
    assertThat(b.core.bulkState()).isEqualTo(BulkState.REQUESTING);
    run(100 * MS);
    assertThat(b.bulkStates)
        .containsExactly(
            BulkState.REQUESTING,
            BulkState.RECEIVING,
            BulkState.DONE,
            BulkState.REQUESTING,
            BulkState.RECEIVING,
            BulkState.DONE);
    assertThat(b.kernel.table).hasSize(20);
    assertThat(b.core.bulkReceived()).isEqualTo(20);
  }

  @Test
  void aBulkThatFitsOnePacketIsCountedAndAppliedBeforeItIsDone() {
    a.core.start(now, List.of(), false);
    for (int i = 0; i < 3; i++) {
      ConntrackEntry e = Entries.tcp(45000 + i, ConntrackEntry.TCP_ESTABLISHED);
      a.kernel.apply(e);
      a.core.kernelEvent(NEW, e, now);
    }
    a.core.poll(now + S);
    b.core.start(now, List.of(), true);
    run(100 * MS);
    assertThat(b.bulkStates)
        .containsExactly(BulkState.REQUESTING, BulkState.RECEIVING, BulkState.DONE);
    assertThat(b.core.bulkReceived()).isEqualTo(3);
    assertThat(b.tableSizeWhenDone).as("CARP is released only once the states are in").isEqualTo(3);
  }

  @Test
  void aBusEndGroupedBeforeTheStatesOfItsPacketIsTakenLast() {
    b.core.start(now, List.of(), true);
    byte[] start =
        dev.carpoperator.agent.pfsync.PfsyncEncoder.pack(
                List.of(new PfsyncMessage.Bus(7, 0, PfsyncMessage.Bus.START)), 1444)
            .getFirst();
    b.receive(start, now);
    // A sender that adds END first gets a packet whose BUS section precedes the UPD section.
    var msgs = new ArrayList<PfsyncMessage>();
    msgs.add(new PfsyncMessage.Bus(7, 0, PfsyncMessage.Bus.END));
    msgs.add(
        new PfsyncMessage.Upd(
            StateMapper.toState(Entries.tcp(46000, ConntrackEntry.TCP_ESTABLISHED), 1, 7)));
    byte[] p = dev.carpoperator.agent.pfsync.PfsyncEncoder.pack(msgs, 1444).getFirst();
    b.receive(p, now);
    assertThat(b.core.bulkState()).isEqualTo(BulkState.DONE);
    assertThat(b.tableSizeWhenDone).isEqualTo(1);
  }

  @Test
  void bulkRequestIsRepeatedThenGivenUpWhenNobodyAnswers() {
    b.core.start(now, List.of(), true);
    List<byte[]> sent = new ArrayList<>();
    for (long t = 0; t <= 31 * S; t += 10 * MS) sent.addAll(b.core.poll(now + t));
    assertThat(messages(sent))
        .hasSize(15)
        .allMatch(PfsyncMessage.UpdReq.BULK::equals); // every 2 s for 30 s
    assertThat(b.core.bulkState()).isEqualTo(BulkState.TIMED_OUT);
  }

  @Test
  void refreshReannouncesStatesWhoseTimerTheKernelKeepsRefreshing() {
    startBoth();
    ConntrackEntry e =
        Entries.udp(5354, ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED, 120);
    a.core.kernelEvent(NEW, e, now);
    run(100 * MS);
    int before = a.sent.size();
    now += 30 * S;
    a.core.refresh(
        List.of(e), now); // traffic keeps the timer at 120 s: the peer copy has 90 s left
    run(100 * MS);
    assertThat(a.sent).hasSize(before);
    now += 40 * S;
    a.core.refresh(List.of(e), now); // peer copy has 50 s left, less than half of 120
    run(100 * MS);
    assertThat(messages(a.sent.subList(before, a.sent.size())))
        .singleElement()
        .isInstanceOf(PfsyncMessage.UpdC.class);
    assertThat(b.kernel.table.get(e.key()).timeoutSeconds()).isEqualTo(120);
  }

  @Test
  void aLostInsertIsRepairedByThePeriodicReannouncement() {
    startBoth();
    ConntrackEntry e = Entries.tcp(40030, ConntrackEntry.TCP_ESTABLISHED);
    a.core.kernelEvent(NEW, e, now);
    a.core.poll(now + S); // lost on the wire
    now += 2 * S;
    a.core.refresh(List.of(e), now);
    run(100 * MS);
    assertThat(b.kernel.table).as("not yet due").isEmpty();
    now += SyncCore.REANNOUNCE_NANOS;
    a.core.refresh(List.of(e), now);
    run(200 * MS); // UPD_C, UPD_REQ, UPD
    assertThat(b.kernel.table).containsKey(e.key());
    int sent = a.sent.size();
    now += 10 * S;
    a.core.refresh(List.of(e), now);
    b.core.refresh(b.kernel.dump(), now);
    run(100 * MS);
    assertThat(a.sent).as("not again before the interval").hasSize(sent);
    assertThat(b.sent)
        .as("the backup does not re-send copies it only holds")
        .hasSize(1); // its UPD_REQ
  }

  @Test
  void refreshAnnouncesEntriesWhoseEventsWereLostAndForgetsVanishedOnes() {
    startBoth();
    ConntrackEntry kept = Entries.tcp(40010, ConntrackEntry.TCP_ESTABLISHED);
    ConntrackEntry gone = Entries.tcp(40011, ConntrackEntry.TCP_ESTABLISHED);
    a.core.kernelEvent(NEW, gone, now);
    run(100 * MS);
    a.core.refresh(List.of(kept), now);
    run(100 * MS);
    assertThat(b.kernel.table).containsOnlyKeys(kept.key());
  }

  /**
   * The refresh's dump is read off the loop while events go on: what changed meanwhile is newer
   * than the dump. A connection opened meanwhile (not in the dump) is not taken for one that
   * vanished, one closed meanwhile (still in the dump) is not brought back, and a change made
   * meanwhile is not undone by the dump's older view. Without the journal the first two go wrong.
   */
  @Test
  void whatChangedWhileTheDumpWasReadIsNewerThanTheDump() {
    startBoth();
    ConntrackEntry closing = Entries.tcp(40040, ConntrackEntry.TCP_ESTABLISHED);
    ConntrackEntry finishing = Entries.tcp(40041, ConntrackEntry.TCP_ESTABLISHED);
    a.core.kernelEvent(NEW, closing, now);
    a.core.kernelEvent(NEW, finishing, now);
    run(100 * MS);
    List<ConntrackEntry> dump = List.of(closing, finishing); // as the dump thread read them

    a.core.dumpStarting();
    assertThat(a.core.dumpUnderWay()).isTrue();
    ConntrackEntry opened = Entries.tcp(40042, ConntrackEntry.TCP_ESTABLISHED);
    ConntrackEntry finished = Entries.tcp(40041, ConntrackEntry.TCP_FIN_WAIT);
    a.core.kernelEvent(NEW, opened, now);
    a.core.kernelEvent(DESTROY, closing, now);
    a.core.kernelEvent(UPDATE, finished, now);
    run(100 * MS);
    now += 2 * S;
    a.core.refresh(dump, now);
    assertThat(a.core.dumpUnderWay()).isFalse();
    run(100 * MS);

    assertThat(b.kernel.table).containsOnlyKeys(opened.key(), finished.key());
    assertThat(b.kernel.table.get(finished.key()).tcpState())
        .isEqualTo(ConntrackEntry.TCP_FIN_WAIT);
    assertThat(a.core.tableSize()).isEqualTo(2);

    // The next refresh, with no dump read elsewhere, takes the dump as it is again.
    now += S;
    a.core.refresh(List.of(opened), now);
    run(100 * MS);
    assertThat(b.kernel.table).containsOnlyKeys(opened.key());
  }

  @Test
  void kernelRefusalIsCountedAndNothingElseBreaks() {
    startBoth();
    b.kernel.refuseWrites = true;
    a.core.kernelEvent(NEW, Entries.tcp(40020, ConntrackEntry.TCP_ESTABLISHED), now);
    run(100 * MS);
    assertThat(b.core.counters().statesRejected("kernel_create")).isEqualTo(1);
    b.kernel.refuseWrites = false;
    a.core.kernelEvent(NEW, Entries.tcp6(40021), now);
    run(100 * MS);
    assertThat(b.kernel.table).hasSize(1);
  }

  @Test
  void clearRemovesEveryStateOfThatCreator() {
    startBoth();
    for (int i = 0; i < 3; i++)
      a.core.kernelEvent(NEW, Entries.tcp(44000 + i, ConntrackEntry.TCP_ESTABLISHED), now);
    run(100 * MS);
    byte[] clr =
        dev.carpoperator.agent.pfsync.PfsyncEncoder.pack(
                List.of(new PfsyncMessage.Clr("", 0x0a0a0a0a)), 1480)
            .getFirst();
    b.receive(clr, now);
    assertThat(b.kernel.table).isEmpty();
  }

  @Test
  void aClearNamingTheReceiversOwnCreatorLeavesItsOwnStates() {
    startBoth();
    ConntrackEntry own = Entries.tcp(44100, ConntrackEntry.TCP_ESTABLISHED);
    a.kernel.apply(own);
    a.core.kernelEvent(NEW, own, now);
    run(100 * MS);
    // Only the creator may clear its states; a CLR with our creatorid comes from a forger or a
    // confused peer.
    byte[] clr =
        dev.carpoperator.agent.pfsync.PfsyncEncoder.pack(
                List.of(new PfsyncMessage.Clr("", 0x0a0a0a0a)), 1480)
            .getFirst();
    a.receive(clr, now);
    assertThat(a.kernel.table).containsKey(own.key());
    assertThat(a.core.tableSize()).isEqualTo(1);
    assertThat(a.core.counters().statesRejected("clr_own_creator")).isEqualTo(1);
  }

  @Test
  void hostileBytesNeverThrowAndAreCounted() {
    startBoth();
    Random r = new Random(5);
    for (int i = 0; i < 20_000; i++) {
      byte[] p = new byte[r.nextInt(400)];
      r.nextBytes(p);
      if (p.length > 4 && r.nextBoolean()) {
        p[0] = 6;
        p[2] = (byte) (p.length >> 8);
        p[3] = (byte) p.length;
      }
      b.receive(p, now);
    }
    assertThat(b.core.counters().packetsRejected()).isNotEmpty();
  }
}
