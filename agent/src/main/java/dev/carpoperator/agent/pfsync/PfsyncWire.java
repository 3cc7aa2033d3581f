package dev.carpoperator.agent.pfsync;

import dev.carpoperator.agent.pfsync.PfsyncMessage.Bus;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Clr;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Del;
import dev.carpoperator.agent.pfsync.PfsyncMessage.DelC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Ins;
import dev.carpoperator.agent.pfsync.PfsyncMessage.InsAck;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Tdb;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Upd;
import dev.carpoperator.agent.pfsync.PfsyncMessage.UpdC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.UpdReq;

/**
 * Struct layouts at the offsets of docs/protocols/pfsync.md §2, §4 and §5, all multi-byte fields
 * big-endian. Writers expect a zeroed destination (pads stay zero); readers expect the caller to
 * have checked that the whole struct lies inside the array.
 */
final class PfsyncWire {
  // pfsync_header
  static final int HDR_VERSION = 0;
  static final int HDR_LEN = 2;
  static final int HDR_CKSUM = 4;

  // subheader
  static final int SUB_ACTION = 0;
  static final int SUB_LEN = 1;
  static final int SUB_COUNT = 2;

  // pfsync_state_key
  static final int KEY_ADDR0 = 0;
  static final int KEY_ADDR1 = 16;
  static final int KEY_PORT0 = 32;
  static final int KEY_PORT1 = 34;
  static final int KEY_RDOMAIN = 36;
  static final int KEY_AF = 38;

  // pfsync_state_peer
  static final int PEER_PFSS_FLAGS = 0;
  static final int PEER_PFSS_TTL = 2;
  static final int PEER_SCRUB_FLAG = 3;
  static final int PEER_PFSS_TS_MOD = 4;
  static final int PEER_SEQLO = 8;
  static final int PEER_SEQHI = 12;
  static final int PEER_SEQDIFF = 16;
  static final int PEER_MAX_WIN = 20;
  static final int PEER_MSS = 22;
  static final int PEER_STATE = 24;
  static final int PEER_WSCALE = 25;

  // pfsync_state
  static final int ST_ID = 0;
  static final int ST_IFNAME = 8;
  static final int ST_KEY_WIRE = 24;
  static final int ST_KEY_STACK = 64;
  static final int ST_SRC = 104;
  static final int ST_DST = 136;
  static final int ST_RT_ADDR = 168;
  static final int ST_RULE = 184;
  static final int ST_ANCHOR = 188;
  static final int ST_NAT_RULE = 192;
  static final int ST_CREATION = 196;
  static final int ST_EXPIRE = 200;
  static final int ST_PACKETS = 204;
  static final int ST_BYTES = 220;
  static final int ST_CREATORID = 236;
  static final int ST_RTABLEID = 240;
  static final int ST_MAX_MSS = 248;
  static final int ST_AF = 250;
  static final int ST_PROTO = 251;
  static final int ST_DIRECTION = 252;
  static final int ST_LOG = 253;
  static final int ST_RT = 254;
  static final int ST_TIMEOUT = 255;
  static final int ST_SYNC_FLAGS = 256;
  static final int ST_UPDATES = 257;
  static final int ST_MIN_TTL = 258;
  static final int ST_SET_TOS = 259;
  static final int ST_STATE_FLAGS = 260;
  static final int ST_SET_PRIO = 262;

  // pfsync_clr
  static final int CLR_IFNAME = 0;
  static final int CLR_CREATORID = 16;
  // pfsync_ins_ack, pfsync_upd_req, pfsync_del_c
  static final int IDMSG_ID = 0;
  static final int IDMSG_CREATORID = 8;
  // pfsync_bus
  static final int BUS_CREATORID = 0;
  static final int BUS_ENDTIME = 4;
  static final int BUS_STATUS = 8;
  // pfsync_upd_c (OpenBSD)
  static final int UPDC_ID = 0;
  static final int UPDC_SRC = 8;
  static final int UPDC_DST = 40;
  static final int UPDC_CREATORID = 72;
  static final int UPDC_EXPIRE = 76;
  static final int UPDC_TIMEOUT = 80;
  static final int UPDC_STATE_FLAGS = 81;
  // pfsync_tdb (OpenBSD)
  static final int TDB_SPI = 0;
  static final int TDB_DST = 4;
  static final int TDB_RPL = 32;
  static final int TDB_CUR_BYTES = 40;
  static final int TDB_SPROTO = 48;
  static final int TDB_UPDATES = 49;
  static final int TDB_RDOMAIN = 50;

  // ---------------------------------------------------------------- writing

  private PfsyncWire() {}

  static void writeMessage(byte[] b, int off, PfsyncMessage m) {
    switch (m) {
      case Clr c -> {
        Bytes.putName(b, off + CLR_IFNAME, c.ifname());
        Bytes.putInt(b, off + CLR_CREATORID, c.creatorid());
      }
      case InsAck a -> writeIdMessage(b, off, a.id(), a.creatorid());
      case UpdReq r -> writeIdMessage(b, off, r.id(), r.creatorid());
      case DelC d -> writeIdMessage(b, off, d.id(), d.creatorid());
      case Bus s -> {
        Bytes.putInt(b, off + BUS_CREATORID, s.creatorid());
        Bytes.putInt(b, off + BUS_ENDTIME, s.endtime());
        Bytes.put8(b, off + BUS_STATUS, s.status());
      }
      case UpdC u -> {
        Bytes.putLong(b, off + UPDC_ID, u.id());
        writePeer(b, off + UPDC_SRC, u.src());
        writePeer(b, off + UPDC_DST, u.dst());
        Bytes.putInt(b, off + UPDC_CREATORID, u.creatorid());
        Bytes.putInt(b, off + UPDC_EXPIRE, u.expire());
        Bytes.put8(b, off + UPDC_TIMEOUT, u.timeout());
        Bytes.put8(b, off + UPDC_STATE_FLAGS, u.stateFlags());
      }
      case Ins i -> writeState(b, off, i.state());
      case Upd u -> writeState(b, off, u.state());
      case Del d -> writeState(b, off, d.state());
      case Tdb t -> {
        Bytes.putInt(b, off + TDB_SPI, t.spi());
        System.arraycopy(t.dst(), 0, b, off + TDB_DST, Tdb.DST_LENGTH);
        Bytes.putLong(b, off + TDB_RPL, t.rpl());
        Bytes.putLong(b, off + TDB_CUR_BYTES, t.curBytes());
        Bytes.put8(b, off + TDB_SPROTO, t.sproto());
        Bytes.put8(b, off + TDB_UPDATES, t.updates());
        Bytes.put16(b, off + TDB_RDOMAIN, t.rdomain());
      }
    }
  }

  private static void writeIdMessage(byte[] b, int off, long id, int creatorid) {
    Bytes.putLong(b, off + IDMSG_ID, id);
    Bytes.putInt(b, off + IDMSG_CREATORID, creatorid);
  }

  static void writeState(byte[] b, int off, PfsyncState s) {
    Bytes.putLong(b, off + ST_ID, s.id());
    Bytes.putName(b, off + ST_IFNAME, s.ifname());
    writeKey(b, off + ST_KEY_WIRE, s.wireKey());
    writeKey(b, off + ST_KEY_STACK, s.stackKey());
    writePeer(b, off + ST_SRC, s.src());
    writePeer(b, off + ST_DST, s.dst());
    writeAddr(b, off + ST_RT_ADDR, s.rtAddr());
    Bytes.putInt(b, off + ST_RULE, s.rule());
    Bytes.putInt(b, off + ST_ANCHOR, s.anchor());
    Bytes.putInt(b, off + ST_NAT_RULE, s.natRule());
    Bytes.putInt(b, off + ST_CREATION, s.creation());
    Bytes.putInt(b, off + ST_EXPIRE, s.expire());
    // Each counter is two BE32 words, high first: byte for byte the same as one BE64.
    Bytes.putLong(b, off + ST_PACKETS, s.packets0());
    Bytes.putLong(b, off + ST_PACKETS + 8, s.packets1());
    Bytes.putLong(b, off + ST_BYTES, s.bytes0());
    Bytes.putLong(b, off + ST_BYTES + 8, s.bytes1());
    Bytes.putInt(b, off + ST_CREATORID, s.creatorid());
    Bytes.putInt(b, off + ST_RTABLEID, s.rtableid0());
    Bytes.putInt(b, off + ST_RTABLEID + 4, s.rtableid1());
    Bytes.put16(b, off + ST_MAX_MSS, s.maxMss());
    Bytes.put8(b, off + ST_AF, s.af());
    Bytes.put8(b, off + ST_PROTO, s.proto());
    Bytes.put8(b, off + ST_DIRECTION, s.direction());
    Bytes.put8(b, off + ST_LOG, s.log());
    Bytes.put8(b, off + ST_RT, s.rt());
    Bytes.put8(b, off + ST_TIMEOUT, s.timeout());
    Bytes.put8(b, off + ST_SYNC_FLAGS, s.syncFlags());
    Bytes.put8(b, off + ST_UPDATES, s.updates());
    Bytes.put8(b, off + ST_MIN_TTL, s.minTtl());
    Bytes.put8(b, off + ST_SET_TOS, s.setTos());
    Bytes.put16(b, off + ST_STATE_FLAGS, s.stateFlags());
    Bytes.put8(b, off + ST_SET_PRIO, s.setPrio0());
    Bytes.put8(b, off + ST_SET_PRIO + 1, s.setPrio1());
  }

  static void writeKey(byte[] b, int off, StateKey k) {
    writeAddr(b, off + KEY_ADDR0, k.addr0());
    writeAddr(b, off + KEY_ADDR1, k.addr1());
    Bytes.put16(b, off + KEY_PORT0, k.port0());
    Bytes.put16(b, off + KEY_PORT1, k.port1());
    Bytes.put16(b, off + KEY_RDOMAIN, k.rdomain());
    Bytes.put8(b, off + KEY_AF, k.af());
  }

  static void writePeer(byte[] b, int off, StatePeer p) {
    Bytes.put16(b, off + PEER_PFSS_FLAGS, p.pfssFlags());
    Bytes.put8(b, off + PEER_PFSS_TTL, p.pfssTtl());
    Bytes.put8(b, off + PEER_SCRUB_FLAG, p.scrubFlag());
    Bytes.putInt(b, off + PEER_PFSS_TS_MOD, p.pfssTsMod());
    Bytes.putInt(b, off + PEER_SEQLO, p.seqlo());
    Bytes.putInt(b, off + PEER_SEQHI, p.seqhi());
    Bytes.putInt(b, off + PEER_SEQDIFF, p.seqdiff());
    Bytes.put16(b, off + PEER_MAX_WIN, p.maxWin());
    Bytes.put16(b, off + PEER_MSS, p.mss());
    Bytes.put8(b, off + PEER_STATE, p.state());
    Bytes.put8(b, off + PEER_WSCALE, p.wscale());
  }

  static void writeAddr(byte[] b, int off, PfAddr a) {
    Bytes.putLong(b, off, a.hi());
    Bytes.putLong(b, off + 8, a.lo());
  }

  // ---------------------------------------------------------------- reading

  /**
   * Reads one message of a supported action; only the first {@link PfsyncAction#size} bytes are
   * looked at.
   */
  static PfsyncMessage readMessage(int action, byte[] b, int off) {
    return switch (action) {
      case PfsyncAction.CLR ->
          new Clr(
              Bytes.getName(b, off + CLR_IFNAME, Pfsync.IFNAMSIZ),
              Bytes.getInt(b, off + CLR_CREATORID));
      case PfsyncAction.INS_ACK ->
          new InsAck(Bytes.getLong(b, off + IDMSG_ID), Bytes.getInt(b, off + IDMSG_CREATORID));
      case PfsyncAction.UPD_REQ ->
          new UpdReq(Bytes.getLong(b, off + IDMSG_ID), Bytes.getInt(b, off + IDMSG_CREATORID));
      case PfsyncAction.DEL_C ->
          new DelC(Bytes.getLong(b, off + IDMSG_ID), Bytes.getInt(b, off + IDMSG_CREATORID));
      case PfsyncAction.BUS ->
          new Bus(
              Bytes.getInt(b, off + BUS_CREATORID),
              Bytes.getInt(b, off + BUS_ENDTIME),
              Bytes.u8(b, off + BUS_STATUS));
      case PfsyncAction.UPD_C ->
          new UpdC(
              Bytes.getLong(b, off + UPDC_ID),
              readPeer(b, off + UPDC_SRC),
              readPeer(b, off + UPDC_DST),
              Bytes.getInt(b, off + UPDC_CREATORID),
              Bytes.getInt(b, off + UPDC_EXPIRE),
              Bytes.u8(b, off + UPDC_TIMEOUT),
              Bytes.u8(b, off + UPDC_STATE_FLAGS));
      case PfsyncAction.INS -> new Ins(readState(b, off));
      case PfsyncAction.UPD -> new Upd(readState(b, off));
      case PfsyncAction.DEL -> new Del(readState(b, off));
      case PfsyncAction.TDB -> {
        byte[] dst = new byte[Tdb.DST_LENGTH];
        System.arraycopy(b, off + TDB_DST, dst, 0, dst.length);
        yield new Tdb(
            Bytes.getInt(b, off + TDB_SPI),
            dst,
            Bytes.getLong(b, off + TDB_RPL),
            Bytes.getLong(b, off + TDB_CUR_BYTES),
            Bytes.u8(b, off + TDB_SPROTO),
            Bytes.u8(b, off + TDB_UPDATES),
            Bytes.u16(b, off + TDB_RDOMAIN));
      }
      default -> throw new IllegalArgumentException("unsupported action " + action);
    };
  }

  static PfsyncState readState(byte[] b, int off) {
    return new PfsyncState(
        Bytes.getLong(b, off + ST_ID),
        Bytes.getName(b, off + ST_IFNAME, Pfsync.IFNAMSIZ),
        readKey(b, off + ST_KEY_WIRE),
        readKey(b, off + ST_KEY_STACK),
        readPeer(b, off + ST_SRC),
        readPeer(b, off + ST_DST),
        readAddr(b, off + ST_RT_ADDR),
        Bytes.getInt(b, off + ST_RULE),
        Bytes.getInt(b, off + ST_ANCHOR),
        Bytes.getInt(b, off + ST_NAT_RULE),
        Bytes.getInt(b, off + ST_CREATION),
        Bytes.getInt(b, off + ST_EXPIRE),
        Bytes.getLong(b, off + ST_PACKETS),
        Bytes.getLong(b, off + ST_PACKETS + 8),
        Bytes.getLong(b, off + ST_BYTES),
        Bytes.getLong(b, off + ST_BYTES + 8),
        Bytes.getInt(b, off + ST_CREATORID),
        Bytes.getInt(b, off + ST_RTABLEID),
        Bytes.getInt(b, off + ST_RTABLEID + 4),
        Bytes.u16(b, off + ST_MAX_MSS),
        Bytes.u8(b, off + ST_AF),
        Bytes.u8(b, off + ST_PROTO),
        Bytes.u8(b, off + ST_DIRECTION),
        Bytes.u8(b, off + ST_LOG),
        Bytes.u8(b, off + ST_RT),
        Bytes.u8(b, off + ST_TIMEOUT),
        Bytes.u8(b, off + ST_SYNC_FLAGS),
        Bytes.u8(b, off + ST_UPDATES),
        Bytes.u8(b, off + ST_MIN_TTL),
        Bytes.u8(b, off + ST_SET_TOS),
        Bytes.u16(b, off + ST_STATE_FLAGS),
        Bytes.u8(b, off + ST_SET_PRIO),
        Bytes.u8(b, off + ST_SET_PRIO + 1));
  }

  static StateKey readKey(byte[] b, int off) {
    return new StateKey(
        readAddr(b, off + KEY_ADDR0),
        readAddr(b, off + KEY_ADDR1),
        Bytes.u16(b, off + KEY_PORT0),
        Bytes.u16(b, off + KEY_PORT1),
        Bytes.u16(b, off + KEY_RDOMAIN),
        Bytes.u8(b, off + KEY_AF));
  }

  static StatePeer readPeer(byte[] b, int off) {
    return new StatePeer(
        Bytes.u16(b, off + PEER_PFSS_FLAGS),
        Bytes.u8(b, off + PEER_PFSS_TTL),
        Bytes.u8(b, off + PEER_SCRUB_FLAG),
        Bytes.getInt(b, off + PEER_PFSS_TS_MOD),
        Bytes.getInt(b, off + PEER_SEQLO),
        Bytes.getInt(b, off + PEER_SEQHI),
        Bytes.getInt(b, off + PEER_SEQDIFF),
        Bytes.u16(b, off + PEER_MAX_WIN),
        Bytes.u16(b, off + PEER_MSS),
        Bytes.u8(b, off + PEER_STATE),
        Bytes.u8(b, off + PEER_WSCALE));
  }

  static PfAddr readAddr(byte[] b, int off) {
    return new PfAddr(Bytes.getLong(b, off), Bytes.getLong(b, off + 8));
  }
}
