package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.Pfsync;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checks before the sync core, each reason in its order and counted once. */
class SyncPacketValidatorTest {
  static final byte[] KEY = "0123456789abcdef-sync-key".getBytes(StandardCharsets.US_ASCII);
  static final InetAddress PEER = InetAddress.ofLiteral("192.0.2.1");
  static final InetAddress STRANGER = InetAddress.ofLiteral("192.0.2.99");
  static final long WALL = 1_800_000_000_000L;

  final SyncCounters counters = new SyncCounters();
  final byte[] pfsync =
      PfsyncEncoder.pack(List.of(new PfsyncMessage.DelC(1, 0x0a0a0a0a)), 1444).getFirst();

  static SyncEnvelope envelope(byte[] key, boolean encrypt) {
    return new SyncEnvelope(key, encrypt, new byte[16], () -> WALL);
  }

  SyncValidationResult validate(SyncEnvelope opener, List<InetAddress> peers, int ttl, byte[] p) {
    return new SyncPacketValidator(peers, opener, counters)
        .validate(InboundSyncPacket.of(ttl, PEER, p));
  }

  SyncRejectReason rejection(SyncValidationResult r) {
    assertThat(r).isInstanceOf(SyncValidationResult.Rejected.class);
    var rejected = (SyncValidationResult.Rejected) r;
    assertThat(rejected.message()).contains(PEER.getHostAddress());
    assertThat(counters.packetsRejected()).containsEntry(rejected.reason().label(), 1L).hasSize(1);
    return rejected.reason();
  }

  @Test
  void bsdCompatibleModeHandsOnACopyOfThePayload() {
    byte[] frame = new byte[pfsync.length + 20];
    System.arraycopy(pfsync, 0, frame, 14, pfsync.length);
    var r =
        new SyncPacketValidator(List.of(), null, counters)
            .validate(new InboundSyncPacket(Pfsync.TTL, PEER, frame, 14, pfsync.length));
    assertThat(r).isInstanceOf(SyncValidationResult.Plain.class);
    assertThat(((SyncValidationResult.Plain) r).pfsync()).isEqualTo(pfsync);
    assertThat(counters.packetsRejected()).isEmpty();
  }

  @Test
  void aRoutedPacketIsRefusedFirst() {
    assertThat(rejection(validate(envelope(KEY, false), List.of(STRANGER), 254, new byte[0])))
        .isEqualTo(SyncRejectReason.BAD_TTL);
  }

  @Test
  void aSenderNotAmongTheConfiguredPeersIsRefused() {
    assertThat(rejection(validate(null, List.of(STRANGER), Pfsync.TTL, pfsync)))
        .isEqualTo(SyncRejectReason.UNKNOWN_PEER);
    assertThat(validate(null, List.of(STRANGER, PEER), Pfsync.TTL, pfsync))
        .isInstanceOf(SyncValidationResult.Plain.class);
  }

  @Test
  void aHeaderLengthBeyondThePayloadIsRefusedBeforeTheEnvelope() {
    byte[] cut = Arrays.copyOf(pfsync, pfsync.length - 1);
    assertThat(rejection(validate(envelope(KEY, false), List.of(), Pfsync.TTL, cut)))
        .isEqualTo(SyncRejectReason.BAD_LENGTH);
  }

  @Test
  void anAuthenticatedPacketOpensAndEnvelopeFailuresHaveTheirReasons() {
    byte[] sealed = envelope(KEY, false).seal(pfsync, PEER.getAddress());
    var opened = validate(envelope(KEY, false), List.of(), Pfsync.TTL, sealed);
    assertThat(opened).isInstanceOf(SyncValidationResult.Sealed.class);
    assertThat(((SyncValidationResult.Sealed) opened).opened().pfsync()).isEqualTo(pfsync);
    assertThat(counters.packetsRejected()).isEmpty();

    assertThat(rejection(validate(envelope(KEY, false), List.of(), Pfsync.TTL, pfsync)))
        .as("no envelope")
        .isEqualTo(SyncRejectReason.UNAUTHENTICATED);
  }

  @Test
  void aPacketSealedWithAnotherKeyIsABadTag() {
    byte[] other = "another-key-of-16-bytes-or-more".getBytes(StandardCharsets.US_ASCII);
    byte[] sealed = envelope(other, false).seal(pfsync, PEER.getAddress());
    assertThat(rejection(validate(envelope(KEY, false), List.of(), Pfsync.TTL, sealed)))
        .isEqualTo(SyncRejectReason.BAD_TAG);
  }

  @Test
  void encryptionMustAgree() {
    byte[] sealed = envelope(KEY, true).seal(pfsync, PEER.getAddress());
    assertThat(rejection(validate(envelope(KEY, false), List.of(), Pfsync.TTL, sealed)))
        .isEqualTo(SyncRejectReason.ENCRYPTION_MISMATCH);
  }

  @Test
  void labelsAreTheMetricReasonsOfBefore() {
    assertThat(SyncRejectReason.UNAUTHENTICATED.label()).isEqualTo("unauthenticated");
    assertThat(SyncRejectReason.BAD_TTL.label()).isEqualTo("bad_ttl");
    assertThat(SyncRejectReason.STALE.label()).isEqualTo("stale");
    for (SyncEnvelope.Failure f : SyncEnvelope.Failure.values())
      if (f != SyncEnvelope.Failure.NO_TRAILER)
        assertThat(SyncRejectReason.of(f).label()).isEqualTo(f.name().toLowerCase());
  }
}
