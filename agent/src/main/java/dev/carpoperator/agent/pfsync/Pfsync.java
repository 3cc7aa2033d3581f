package dev.carpoperator.agent.pfsync;

/**
 * Protocol constants of OpenBSD pfsync version 6 (docs/protocols/pfsync.md §1, §2, §5, §6) that are
 * not action codes ({@link PfsyncAction}), timeout classes ({@link PfTimeout}), peer states ({@link
 * PfPeerState}) or state flags ({@link PfStateFlags}).
 */
public final class Pfsync {
  /** The header version OpenBSD sends and accepts. */
  public static final int VERSION = 6;

  /**
   * FreeBSD's header version: same header layout, incompatible sections (docs/protocols/pfsync.md
   * §12).
   */
  public static final int VERSION_FREEBSD = 5;

  public static final int IPPROTO_PFSYNC = 240;

  /**
   * TTL every pfsync packet is sent with and must arrive with (pfsync's ttl check): a routed packet
   * is not from the sync link. The same value as CARP's, kept here so the pfsync side needs no CARP
   * code.
   */
  public static final int TTL = 255;

  public static final String GROUP_V4 = "224.0.0.240";
  public static final int IPV4_HEADER_LENGTH = 20;

  public static final int HEADER_LENGTH = 20;
  public static final int SUBHEADER_LENGTH = 4;
  public static final int CKSUM_LENGTH = 16;

  /** pfsync_header.len is a u16. */
  public static final int MAX_PACKET_LENGTH = 0xffff;

  public static final int IFNAMSIZ = 16;
  public static final int PF_ADDR_LENGTH = 16;
  public static final int STATE_KEY_LENGTH = 40;
  public static final int STATE_PEER_LENGTH = 32;
  public static final int STATE_LENGTH = 264;

  /** OpenBSD's values; FreeBSD uses 28 and Linux 10 for IPv6. */
  public static final int AF_INET = 2;

  public static final int AF_INET6 = 24;

  /** Index into pfsync_state.key[]. */
  public static final int PF_SK_WIRE = 0;

  public static final int PF_SK_STACK = 1;

  /** pfsync_state.direction. */
  public static final int PF_IN = 1;

  public static final int PF_OUT = 2;

  /** pfsync_state.rt. */
  public static final int PF_RT_NONE = 0;

  public static final int PF_RT_ROUTETO = 1;
  public static final int PF_RT_DUPTO = 2;
  public static final int PF_RT_REPLYTO = 3;

  /** pfsync_state.sync_flags. */
  public static final int PFSYNC_FLAG_SRCNODE = 0x04;

  public static final int PFSYNC_FLAG_NATSRCNODE = 0x08;

  /** pfsync_state_peer scrub block: pfss_flags (only this bit is exported) and scrub_flag. */
  public static final int PFSS_TIMESTAMP = 0x0001;

  public static final int PFSYNC_SCRUB_FLAG_VALID = 0x01;

  /** pfsync_state_peer.wscale: 0x80 = window scaling seen, low nibble = shift. */
  public static final int PF_WSCALE_FLAG = 0x80;

  public static final int PF_WSCALE_MASK = 0x0f;

  /** rule / anchor / nat_rule value meaning "none" (0xffffffff). */
  public static final int NO_RULE = -1;

  private Pfsync() {}

  /** The pfsync payload budget for an interface MTU: the IPv4 header (no options) is taken off. */
  public static int payloadBudget(int mtu) {
    return mtu - IPV4_HEADER_LENGTH;
  }
}
