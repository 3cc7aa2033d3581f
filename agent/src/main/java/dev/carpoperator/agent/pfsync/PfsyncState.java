package dev.carpoperator.agent.pfsync;

import java.util.Objects;

/**
 * OpenBSD's 264-byte {@code struct pfsync_state} (docs/protocols/pfsync.md §5), carried by INS, UPD
 * and DEL. Components follow the wire order. u32 fields are Java ints holding the unsigned bit
 * pattern (use {@link Integer#toUnsignedLong}); u8/u16 fields are range-checked ints; the u64
 * counters are longs.
 *
 * @param id opaque 64-bit id; OpenBSD sends a big-endian counter
 * @param ifname bound interface, "all" for a floating state (at most 16 bytes)
 * @param wireKey key[PF_SK_WIRE]: as seen on the wire
 * @param stackKey key[PF_SK_STACK]: as seen by the stack, after NAT/RDR (equal to wireKey without
 *     translation)
 * @param src the initiating peer
 * @param dst the responder
 * @param rtAddr route-to/reply-to/dup-to next hop
 * @param rule rule number, {@link Pfsync#NO_RULE} for none
 * @param anchor anchor number, {@link Pfsync#NO_RULE} for none
 * @param natRule always {@link Pfsync#NO_RULE} on OpenBSD
 * @param creation age in seconds (now - creation), u32
 * @param expire seconds until expiry, 0 if already expired, u32
 * @param packets0 packets initiator to responder
 * @param packets1 packets responder to initiator
 * @param bytes0 bytes initiator to responder
 * @param bytes1 bytes responder to initiator
 * @param creatorid pf hostid of the creating node, as pfctl prints it (ntohl of the wire field)
 * @param rtableid0 routing table of the wire side
 * @param rtableid1 routing table of the stack side
 * @param maxMss scrub max-mss, u16
 * @param af address family of the wire key, u8
 * @param proto IP protocol, u8
 * @param direction {@link Pfsync#PF_IN} or {@link Pfsync#PF_OUT}, u8
 * @param log u8
 * @param rt {@link Pfsync#PF_RT_NONE} etc., u8
 * @param timeout {@link PfTimeout} index, u8
 * @param syncFlags {@link Pfsync#PFSYNC_FLAG_SRCNODE} etc., u8
 * @param updates update counter, u8
 * @param minTtl scrub min-ttl, u8
 * @param setTos u8
 * @param stateFlags {@link PfStateFlags} bits, u16
 * @param setPrio0 set_prio[0], u8
 * @param setPrio1 set_prio[1], u8
 */
public record PfsyncState(
    long id,
    String ifname,
    StateKey wireKey,
    StateKey stackKey,
    StatePeer src,
    StatePeer dst,
    PfAddr rtAddr,
    int rule,
    int anchor,
    int natRule,
    int creation,
    int expire,
    long packets0,
    long packets1,
    long bytes0,
    long bytes1,
    int creatorid,
    int rtableid0,
    int rtableid1,
    int maxMss,
    int af,
    int proto,
    int direction,
    int log,
    int rt,
    int timeout,
    int syncFlags,
    int updates,
    int minTtl,
    int setTos,
    int stateFlags,
    int setPrio0,
    int setPrio1) {

  /** The floating-state interface name. */
  public static final String IFNAME_ALL = "all";

  public PfsyncState {
    Checks.ifname("ifname", ifname);
    Objects.requireNonNull(wireKey, "wireKey");
    Objects.requireNonNull(stackKey, "stackKey");
    Objects.requireNonNull(src, "src");
    Objects.requireNonNull(dst, "dst");
    Objects.requireNonNull(rtAddr, "rtAddr");
    Checks.u16("maxMss", maxMss);
    Checks.u8("af", af);
    Checks.u8("proto", proto);
    Checks.u8("direction", direction);
    Checks.u8("log", log);
    Checks.u8("rt", rt);
    Checks.u8("timeout", timeout);
    Checks.u8("syncFlags", syncFlags);
    Checks.u8("updates", updates);
    Checks.u8("minTtl", minTtl);
    Checks.u8("setTos", setTos);
    Checks.u16("stateFlags", stateFlags);
    Checks.u8("setPrio0", setPrio0);
    Checks.u8("setPrio1", setPrio1);
  }

  /** key[i]: 0 = wire, 1 = stack. */
  public StateKey key(int i) {
    return switch (i) {
      case Pfsync.PF_SK_WIRE -> wireKey;
      case Pfsync.PF_SK_STACK -> stackKey;
      default -> throw new IndexOutOfBoundsException(i);
    };
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * Mutable builder. Defaults: zero everywhere, empty ifname, empty keys and peers, and rule,
   * anchor and nat_rule set to "none" as OpenBSD sends them.
   */
  public static final class Builder {
    private long id;
    private String ifname = "";
    private StateKey wireKey = StateKey.EMPTY;
    private StateKey stackKey = StateKey.EMPTY;
    private StatePeer src = StatePeer.EMPTY;
    private StatePeer dst = StatePeer.EMPTY;
    private PfAddr rtAddr = PfAddr.ZERO;
    private int rule = Pfsync.NO_RULE;
    private int anchor = Pfsync.NO_RULE;
    private int natRule = Pfsync.NO_RULE;
    private int creation;
    private int expire;
    private long packets0;
    private long packets1;
    private long bytes0;
    private long bytes1;
    private int creatorid;
    private int rtableid0;
    private int rtableid1;
    private int maxMss;
    private int af;
    private int proto;
    private int direction;
    private int log;
    private int rt;
    private int timeout;
    private int syncFlags;
    private int updates;
    private int minTtl;
    private int setTos;
    private int stateFlags;
    private int setPrio0;
    private int setPrio1;

    private Builder() {}

    private Builder(PfsyncState s) {
      id = s.id;
      ifname = s.ifname;
      wireKey = s.wireKey;
      stackKey = s.stackKey;
      src = s.src;
      dst = s.dst;
      rtAddr = s.rtAddr;
      rule = s.rule;
      anchor = s.anchor;
      natRule = s.natRule;
      creation = s.creation;
      expire = s.expire;
      packets0 = s.packets0;
      packets1 = s.packets1;
      bytes0 = s.bytes0;
      bytes1 = s.bytes1;
      creatorid = s.creatorid;
      rtableid0 = s.rtableid0;
      rtableid1 = s.rtableid1;
      maxMss = s.maxMss;
      af = s.af;
      proto = s.proto;
      direction = s.direction;
      log = s.log;
      rt = s.rt;
      timeout = s.timeout;
      syncFlags = s.syncFlags;
      updates = s.updates;
      minTtl = s.minTtl;
      setTos = s.setTos;
      stateFlags = s.stateFlags;
      setPrio0 = s.setPrio0;
      setPrio1 = s.setPrio1;
    }

    public Builder id(long v) {
      id = v;
      return this;
    }

    public Builder ifname(String v) {
      ifname = v;
      return this;
    }

    public Builder wireKey(StateKey v) {
      wireKey = v;
      return this;
    }

    public Builder stackKey(StateKey v) {
      stackKey = v;
      return this;
    }

    /** Sets both keys (no translation). */
    public Builder keys(StateKey v) {
      wireKey = v;
      stackKey = v;
      return this;
    }

    public Builder src(StatePeer v) {
      src = v;
      return this;
    }

    public Builder dst(StatePeer v) {
      dst = v;
      return this;
    }

    public Builder rtAddr(PfAddr v) {
      rtAddr = v;
      return this;
    }

    public Builder rule(int v) {
      rule = v;
      return this;
    }

    public Builder anchor(int v) {
      anchor = v;
      return this;
    }

    public Builder natRule(int v) {
      natRule = v;
      return this;
    }

    public Builder creation(int v) {
      creation = v;
      return this;
    }

    public Builder expire(int v) {
      expire = v;
      return this;
    }

    public Builder packets(long toResponder, long toInitiator) {
      packets0 = toResponder;
      packets1 = toInitiator;
      return this;
    }

    public Builder bytes(long toResponder, long toInitiator) {
      bytes0 = toResponder;
      bytes1 = toInitiator;
      return this;
    }

    public Builder creatorid(int v) {
      creatorid = v;
      return this;
    }

    public Builder rtableid(int wire, int stack) {
      rtableid0 = wire;
      rtableid1 = stack;
      return this;
    }

    public Builder maxMss(int v) {
      maxMss = v;
      return this;
    }

    public Builder af(int v) {
      af = v;
      return this;
    }

    public Builder proto(int v) {
      proto = v;
      return this;
    }

    public Builder direction(int v) {
      direction = v;
      return this;
    }

    public Builder log(int v) {
      log = v;
      return this;
    }

    public Builder rt(int v) {
      rt = v;
      return this;
    }

    public Builder timeout(int v) {
      timeout = v;
      return this;
    }

    public Builder syncFlags(int v) {
      syncFlags = v;
      return this;
    }

    public Builder updates(int v) {
      updates = v;
      return this;
    }

    public Builder minTtl(int v) {
      minTtl = v;
      return this;
    }

    public Builder setTos(int v) {
      setTos = v;
      return this;
    }

    public Builder stateFlags(int v) {
      stateFlags = v;
      return this;
    }

    public Builder setPrio(int p0, int p1) {
      setPrio0 = p0;
      setPrio1 = p1;
      return this;
    }

    public PfsyncState build() {
      return new PfsyncState(
          id,
          ifname,
          wireKey,
          stackKey,
          src,
          dst,
          rtAddr,
          rule,
          anchor,
          natRule,
          creation,
          expire,
          packets0,
          packets1,
          bytes0,
          bytes1,
          creatorid,
          rtableid0,
          rtableid1,
          maxMss,
          af,
          proto,
          direction,
          log,
          rt,
          timeout,
          syncFlags,
          updates,
          minTtl,
          setTos,
          stateFlags,
          setPrio0,
          setPrio1);
    }
  }
}
