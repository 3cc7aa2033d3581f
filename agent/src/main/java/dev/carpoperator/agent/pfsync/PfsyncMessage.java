package dev.carpoperator.agent.pfsync;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * One pfsync v6 message (docs/protocols/pfsync.md §3, §4). Every message type has a fixed size
 * ({@link PfsyncAction#size}); (id, creatorid) is the global state identity. u32 fields are ints
 * holding the unsigned bit pattern; creatorid is the value pfctl prints.
 */
public sealed interface PfsyncMessage {

  /** The subheader action code of this message type. */
  int action();

  /**
   * CLR: drop every state created by {@code creatorid}, only those bound to {@code ifname} unless
   * it is empty.
   */
  record Clr(String ifname, int creatorid) implements PfsyncMessage {
    public static final String ALL_INTERFACES = "";

    public Clr {
      Checks.ifname("ifname", ifname);
    }

    @Override
    public int action() {
      return PfsyncAction.CLR;
    }
  }

  /** INS_ACK: the peer inserted this state (releases a deferred packet). */
  record InsAck(long id, int creatorid) implements PfsyncMessage {
    @Override
    public int action() {
      return PfsyncAction.INS_ACK;
    }
  }

  /**
   * UPD_C, OpenBSD's 84-byte compressed update.
   *
   * @param expire seconds left, u32
   * @param timeout {@link PfTimeout} index, u8
   * @param stateFlags low byte of the state's PFSTATE flags (the field is one byte here), u8
   */
  record UpdC(
      long id, StatePeer src, StatePeer dst, int creatorid, int expire, int timeout, int stateFlags)
      implements PfsyncMessage {
    public UpdC {
      Objects.requireNonNull(src, "src");
      Objects.requireNonNull(dst, "dst");
      Checks.u8("timeout", timeout);
      Checks.u8("stateFlags", stateFlags);
    }

    @Override
    public int action() {
      return PfsyncAction.UPD_C;
    }
  }

  /**
   * UPD_REQ: ask for a full UPD of one state, or for everything (bulk) when id and creatorid are
   * both 0.
   */
  record UpdReq(long id, int creatorid) implements PfsyncMessage {
    public static final UpdReq BULK = new UpdReq(0, 0);

    public boolean isBulkRequest() {
      return id == 0 && creatorid == 0;
    }

    @Override
    public int action() {
      return PfsyncAction.UPD_REQ;
    }
  }

  /** DEL_C: the state was deleted. */
  record DelC(long id, int creatorid) implements PfsyncMessage {
    @Override
    public int action() {
      return PfsyncAction.DEL_C;
    }
  }

  /**
   * BUS: bulk update status.
   *
   * @param endtime u32; FreeBSD sends the bulk duration, OpenBSD does not rely on it; in a {@link
   *     #PROGRESS} message the count of bulk packets applied
   * @param status {@link #START} or {@link #END} (other u8 values are carried as received)
   */
  record Bus(int creatorid, int endtime, int status) implements PfsyncMessage {
    public static final int START = 1;
    public static final int END = 2;

    /**
     * Our extension, sent only in authenticated mode: a requester tells the peer whose bulk it is
     * receiving ({@code creatorid}) how many of its bulk packets it has applied ({@code endtime}),
     * and that peer sends as fast as that (docs/state-sync.md). OpenBSD and FreeBSD ignore statuses
     * other than START and END.
     */
    public static final int PROGRESS = 3;

    public Bus {
      Checks.u8("status", status);
    }

    @Override
    public int action() {
      return PfsyncAction.BUS;
    }
  }

  /** INS: a new state. */
  record Ins(PfsyncState state) implements PfsyncMessage {
    public Ins {
      Objects.requireNonNull(state, "state");
    }

    @Override
    public int action() {
      return PfsyncAction.INS;
    }
  }

  /** UPD: full update (the answer to UPD_REQ and the bulk transfer format). */
  record Upd(PfsyncState state) implements PfsyncMessage {
    public Upd {
      Objects.requireNonNull(state, "state");
    }

    @Override
    public int action() {
      return PfsyncAction.UPD;
    }
  }

  /**
   * DEL: delete carrying the full state; legacy, decoded for completeness (modern senders use
   * DEL_C).
   */
  record Del(PfsyncState state) implements PfsyncMessage {
    public Del {
      Objects.requireNonNull(state, "state");
    }

    @Override
    public int action() {
      return PfsyncAction.DEL;
    }
  }

  /**
   * TDB, OpenBSD's 52-byte IPsec SA replay-counter update. Decoded field by field; the destination
   * sockaddr_union is kept as its 28 raw bytes (BSD sockaddr: length byte, family byte, ...).
   *
   * @param spi u32 as on the wire
   * @param dst 28 bytes (defensively copied)
   * @param rpl replay counter, u64
   * @param curBytes u64
   * @param sproto u8
   * @param updates u8
   * @param rdomain u16
   */
  record Tdb(int spi, byte[] dst, long rpl, long curBytes, int sproto, int updates, int rdomain)
      implements PfsyncMessage {
    public static final int DST_LENGTH = 28;

    public Tdb {
      if (dst == null || dst.length != DST_LENGTH) {
        throw new IllegalArgumentException("dst must be 28 bytes");
      }
      dst = dst.clone();
      Checks.u8("sproto", sproto);
      Checks.u8("updates", updates);
      Checks.u16("rdomain", rdomain);
    }

    @Override
    public byte[] dst() {
      return dst.clone();
    }

    @Override
    public int action() {
      return PfsyncAction.TDB;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Tdb t
          && spi == t.spi
          && Arrays.equals(dst, t.dst)
          && rpl == t.rpl
          && curBytes == t.curBytes
          && sproto == t.sproto
          && updates == t.updates
          && rdomain == t.rdomain;
    }

    @Override
    public int hashCode() {
      return Objects.hash(spi, Arrays.hashCode(dst), rpl, curBytes, sproto, updates, rdomain);
    }

    @Override
    public String toString() {
      return "Tdb[spi="
          + Integer.toHexString(spi)
          + ", dst="
          + HexFormat.of().formatHex(dst)
          + ", rpl="
          + rpl
          + ", curBytes="
          + curBytes
          + ", sproto="
          + sproto
          + ", updates="
          + updates
          + ", rdomain="
          + rdomain
          + "]";
    }
  }
}
