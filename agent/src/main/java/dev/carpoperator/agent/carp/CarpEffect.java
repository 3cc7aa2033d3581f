package dev.carpoperator.agent.carp;

import java.util.Objects;

/** Side effects the state machine asks the engine to carry out, in the order returned. */
public sealed interface CarpEffect {

  int vhid();

  /**
   * Send one advert now. The engine encodes it with the vhost's {@link CarpHmac} ({@link #encode})
   * and sends it to 224.0.0.18 / ff02::12 (or the unicast peer) with TTL 255, for each configured
   * address family.
   */
  record SendAdvert(int vhid, int advbase, int advskew, int demote, long counter)
      implements CarpEffect {
    public SendAdvert {
      CarpAdvert.checkByte("advbase", advbase);
      CarpAdvert.checkByte("advskew", advskew);
      CarpAdvert.checkByte("demote", demote);
    }

    /** The bow-out advert sent on shutdown: a backup that hears it takes over at once. */
    public boolean isBowOut() {
      return advbase == 255 && advskew == 255;
    }

    public byte[] encode(CarpHmac hmac) {
      return CarpCodec.encode(vhid, advskew, demote, advbase, counter, hmac);
    }
  }

  /**
   * We just became MASTER: add the virtual addresses (or start answering for the virtual MAC) and
   * announce them (gratuitous ARP per IPv4 VIP, unsolicited NA with the Override flag per IPv6
   * VIP).
   */
  record TakeOverAddresses(int vhid) implements CarpEffect {}

  /**
   * Repeat the gratuitous ARP / unsolicited NA of a takeover. Emitted together with the second
   * timer advert after becoming MASTER (OpenBSD's {@code sc_delayed_arp = 2}, for switches that
   * miss the first announcement).
   */
  record Reannounce(int vhid) implements CarpEffect {}

  /**
   * We are MASTER and stay so, but another node may have been master meanwhile (we were frozen or
   * not heard, and a less preferred master advertised): its traffic went through that node, so, as
   * after a takeover, this node's own connection-tracking entries may be stale. Followed by a
   * {@link Reannounce}.
   */
  record Reclaim(int vhid) implements CarpEffect {}

  /**
   * We left MASTER: remove the virtual addresses / stop answering for them. Nothing is sent on the
   * wire.
   */
  record ReleaseAddresses(int vhid) implements CarpEffect {}

  /** Informational: log it, export it, update the status. */
  record StateChanged(int vhid, CarpState from, CarpState to, TransitionReason reason)
      implements CarpEffect {
    public StateChanged {
      Objects.requireNonNull(from);
      Objects.requireNonNull(to);
      Objects.requireNonNull(reason);
    }
  }
}
