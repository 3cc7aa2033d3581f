package dev.carpoperator.agent.sync;

import dev.carpoperator.agent.pfsync.Pfsync;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Receive-side checks of a sync packet (IP protocol 240) before the sync core sees it: TTL 255 →
 * the source is a configured peer (when peers are configured) → in authenticated mode, the pfsync
 * header's len within the payload → the envelope opens ({@link SyncEnvelope#open}: authentic,
 * encryption as ours, fresh). Each rejection is counted by its first failing reason ({@link
 * SyncRejectReason}). In bsd-compatible mode there is no envelope: the pfsync bytes go to the core
 * as they are, and its decoder checks them.
 *
 * <p>Never throws on packet contents. Not thread-safe (the envelope is not): one receive thread.
 */
public final class SyncPacketValidator {

  private final List<? extends InetAddress> peers;
  private final SyncEnvelope opener;
  private final SyncCounters counters;

  /**
   * @param peers the configured unicast peers; empty: multicast, any sender on the link
   * @param opener opens the envelopes; null for bsd-compatible (unauthenticated) mode
   * @param counters where rejections are counted
   */
  public SyncPacketValidator(
      Collection<? extends InetAddress> peers, SyncEnvelope opener, SyncCounters counters) {
    this.peers = List.copyOf(peers);
    this.opener = opener;
    this.counters = counters;
  }

  public SyncValidationResult validate(InboundSyncPacket p) {
    if (p.hopLimit() != Pfsync.TTL) {
      return reject(
          SyncRejectReason.BAD_TTL,
          "sync packet from "
              + from(p)
              + " with TTL "
              + p.hopLimit()
              + " (must be 255: it was routed, so it is not from this link)");
    }
    if (!peers.isEmpty() && !peers.contains(p.source())) {
      return reject(
          SyncRejectReason.UNKNOWN_PEER,
          "sync packet from " + from(p) + ", which is not among the configured sync peers");
    }
    byte[] b = p.bytes();
    if (opener == null) {
      return new SyncValidationResult.Plain(
          Arrays.copyOfRange(b, p.offset(), p.offset() + p.length()));
    }
    int declared =
        p.length() >= 4 ? ((b[p.offset() + 2] & 0xff) << 8 | (b[p.offset() + 3] & 0xff)) : -1;
    if (declared < Pfsync.HEADER_LENGTH || declared > p.length()) {
      return reject(
          SyncRejectReason.BAD_LENGTH,
          "sync packet from " + from(p) + " with an impossible pfsync length");
    }
    SyncEnvelope.Opened o =
        opener.open(b, p.offset(), p.length(), declared, p.source().getAddress());
    if (o.ok()) return new SyncValidationResult.Sealed(o);
    String source = from(p);
    return reject(
        SyncRejectReason.of(o.failure()),
        switch (o.failure()) {
          case NO_TRAILER ->
              "unauthenticated sync packet from "
                  + source
                  + " dropped: this node runs authenticated sync; "
                  + "a pfsync peer needs sync mode bsd-compatible on both sides";
          case BAD_TAG ->
              "sync packet from " + source + " failed authentication: a different key, or forged";
          case ENCRYPTION_MISMATCH ->
              "sync packet from "
                  + source
                  + " disagrees about encryption: set sync encrypt the same on every node";
          case OLD_VERSION ->
              "sync packet from "
                  + source
                  + " has the envelope of an older agent (version 1): upgrade every node";
          case STALE ->
              "sync packet from "
                  + source
                  + " was sent more than "
                  + SyncEnvelope.FRESHNESS_WINDOW_MILLIS / 1000
                  + " s from now: replayed, or the clocks of the nodes disagree (run NTP)";
          default -> "sync packet from " + source + " has no valid envelope (" + o.failure() + ")";
        });
  }

  public SyncCounters counters() {
    return counters;
  }

  private SyncValidationResult reject(SyncRejectReason reason, String message) {
    counters.packetRejected(reason.label());
    return new SyncValidationResult.Rejected(reason, message);
  }

  private static String from(InboundSyncPacket p) {
    return p.source().getHostAddress();
  }
}
