package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.carp.AdvertValidator;
import dev.carpoperator.agent.carp.CarpAdvert;
import dev.carpoperator.agent.carp.InboundPacket;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.carp.ValidationResult;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the CARP engine does with a received frame, up to the state machine: parse ({@link
 * FrameParser}) → filter (CARP only, not our own frames) → validate ({@link AdvertValidator}, which
 * counts each rejection by reason). Pure and thread-safe (the validator's vhost lookup is): it runs
 * on the receive threads, and the fuzz target runs it as it is. Never throws on frame contents:
 * each frame yields exactly one {@link Outcome}.
 */
public final class CarpReceivePipeline {
  /** What became of one frame. */
  public sealed interface Outcome permits Unparsable, NotCarp, OwnFrame, Rejected, Accepted {}

  /**
   * Not an IP packet the parser accepts; counted in {@code carp_frames_dropped_total} under {@link
   * #label()}.
   */
  public record Unparsable(FrameParser.Reason reason) implements Outcome {
    /** The metric label: the parser's reason in lower case ("ipv4_bad_checksum"). */
    public String label() {
      return reason.name().toLowerCase(Locale.ROOT);
    }
  }

  /** An IP packet of another protocol: not ours to count. */
  public record NotCarp(FrameParser.Packet packet) implements Outcome {}

  /** Sent from this NIC's own MAC: our own announcement frames, looped back by the capture. */
  public record OwnFrame(FrameParser.Packet packet) implements Outcome {}

  /** A CARP packet the validator refused (already counted under {@code reason}). */
  public record Rejected(FrameParser.Packet packet, RejectReason reason) implements Outcome {}

  /** A valid advert, for the state machine of its vhid. */
  public record Accepted(FrameParser.Packet packet, CarpAdvert advert) implements Outcome {}

  private static final Map<RejectReason, String> HINTS = new EnumMap<>(RejectReason.class);

  static {
    HINTS.put(RejectReason.BAD_TTL, "TTL/hop limit is not 255: the packet was routed or forged");
    HINTS.put(RejectReason.BAD_LENGTH, "truncated CARP packet");
    HINTS.put(RejectReason.BAD_CHECKSUM, "corrupted CARP packet (bad checksum)");
    HINTS.put(
        RejectReason.UNKNOWN_VHID,
        "a peer advertises a vhid not configured here (another CARP or VRRP group on this segment)");
    HINTS.put(RejectReason.BAD_VERSION, "not CARP version 2 (a VRRPv3 router on this segment?)");
    HINTS.put(
        RejectReason.BAD_AUTH,
        "HMAC mismatch: the peer has another password or another address set for this vhid");
    HINTS.put(
        RejectReason.LOOP, "our own advert came back: a network loop or a reflecting switch port");
  }

  private final AdvertValidator validator;
  private final MacAddress ownMac;

  /**
   * @param validator the checks of this NIC's vhids
   * @param ownMac the NIC's MAC (frames from it are our own), or null if unknown
   */
  public CarpReceivePipeline(AdvertValidator validator, MacAddress ownMac) {
    this.validator = validator;
    this.ownMac = ownMac;
  }

  public Outcome receive(byte[] frame) {
    FrameParser.Packet p;
    switch (FrameParser.parse(frame)) {
      case FrameParser.Rejected r -> {
        return new Unparsable(r.reason());
      }
      case FrameParser.Packet packet -> p = packet;
    }
    if (p.protocol() != CarpFrames.IPPROTO_CARP) return new NotCarp(p);
    if (ownMac != null && p.srcMac().equals(ownMac)) return new OwnFrame(p);
    ValidationResult r =
        validator.validate(new InboundPacket(p.hopLimit(), p.src(), p.dst(), p.payload()));
    return switch (r) {
      case ValidationResult.Rejected rejected -> new Rejected(p, rejected.reason());
      case ValidationResult.Accepted a -> new Accepted(p, a.advert());
    };
  }

  /** What a user should check for a rejection (the engine's rate-limited warning). */
  public static String hint(RejectReason reason) {
    return HINTS.get(reason);
  }
}
