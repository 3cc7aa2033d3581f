package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult;
import dev.carpoperator.agent.pfsync.PfsyncDecoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.pfsync.PfsyncPacketBuilder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link BulkSender} on its own, paced (no progress reports), with packets that hold one state and
 * nothing else ({@link PfsyncPacketBuilder#MIN_BUDGET}), so that BUS END waits for a packet of its
 * own.
 */
class BulkSenderTest {
  static final int HOST = 0x0a0a0a0a;
  static final long INTERVAL = 1_000_000L;

  final SyncTable table = new SyncTable();
  final BulkSender sender = new BulkSender(HOST, PfsyncPacketBuilder.MIN_BUDGET, INTERVAL, table);
  long now = 1_000_000_000L;

  SyncTable.Tracked track(int port, long id) {
    return table.track(
        new SyncTable.GlobalId(id, HOST), Entries.tcp(port, ConntrackEntry.TCP_ESTABLISHED));
  }

  /** The next due packet's messages, as "START", "END" or the state's source port. */
  List<String> nextPacket() {
    List<SyncCore.Outgoing> out = new ArrayList<>();
    sender.poll(now, 0, out);
    now += INTERVAL;
    assertThat(out).as("one packet per interval").hasSize(1);
    List<String> seen = new ArrayList<>();
    var d = (PfsyncDecodeResult.Decoded) PfsyncDecoder.decode(out.getFirst().pfsync());
    for (PfsyncMessage m : d.messages()) {
      switch (m) {
        case PfsyncMessage.Bus b ->
            seen.add(b.status() == PfsyncMessage.Bus.START ? "START" : "END");
        case PfsyncMessage.Upd u ->
            seen.add(
                String.valueOf(StateMapper.toEntry(u.state()).entry().original().sourcePort()));
        default -> seen.add(m.toString());
      }
    }
    return seen;
  }

  @Test
  void aRequestWhenOnlyBusEndIsLeftSendsEveryStateAgainBeforeIt() {
    track(40001, 1);
    track(40002, 2);
    sender.start(table.all(), now);
    assertThat(nextPacket()).containsExactly("START");
    List<String> states = new ArrayList<>(nextPacket());
    states.addAll(nextPacket());
    assertThat(states).containsExactlyInAnyOrder("40001", "40002");
    assertThat(sender.sending()).as("BUS END did not fit: still to send").isTrue();

    sender.extend(table.all()); // another request, with only BUS END left
    assertThat(nextPacket()).containsExactly("START");
    List<String> again = new ArrayList<>(nextPacket());
    again.addAll(nextPacket());
    assertThat(again).containsExactlyInAnyOrder("40001", "40002");
    assertThat(nextPacket()).containsExactly("END");
    assertThat(sender.sending()).isFalse();
  }

  @Test
  void aStateThatLeftTheTableBeforeItsTurnIsNotSent() {
    track(40001, 1);
    SyncTable.Tracked leaving = track(40002, 2);
    track(40003, 3);
    sender.start(table.all(), now);
    table.untrack(leaving);
    List<String> sent = new ArrayList<>();
    while (sender.sending()) sent.addAll(nextPacket());
    assertThat(sent).containsExactlyInAnyOrder("START", "40001", "40003", "END");
  }
}
