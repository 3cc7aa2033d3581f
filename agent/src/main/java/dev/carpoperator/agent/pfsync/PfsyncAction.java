package dev.carpoperator.agent.pfsync;

/**
 * OpenBSD pfsync v6 action codes (subheader byte 0) and message sizes (docs/protocols/pfsync.md
 * §3). The numbering is OpenBSD's: FreeBSD v5 gives 1, 3, 11, 12, 13, 14 and 15 other meanings.
 */
public final class PfsyncAction {
  public static final int CLR = 0;

  /** Obsolete old insert. */
  public static final int OINS = 1;

  public static final int INS_ACK = 2;

  /** Obsolete old update. */
  public static final int OUPD = 3;

  public static final int UPD_C = 4;
  public static final int UPD_REQ = 5;

  /** Delete carrying a full state; legacy, modern senders use DEL_C. */
  public static final int DEL = 6;

  public static final int DEL_C = 7;

  /** Never implemented. */
  public static final int INS_F = 8;

  /** Never implemented. */
  public static final int DEL_F = 9;

  public static final int BUS = 10;

  /** Obsolete old TDB update (before rdomain was added). */
  public static final int OTDB = 11;

  /** Deprecated, not sent by OpenBSD; FreeBSD's mandatory terminator. */
  public static final int EOF = 12;

  public static final int INS = 13;
  public static final int UPD = 14;
  public static final int TDB = 15;

  /** One past the highest OpenBSD action. */
  public static final int MAX = 16;

  public static final int CLR_SIZE = 20;
  public static final int INS_ACK_SIZE = 12;
  public static final int UPD_C_SIZE = 84;
  public static final int UPD_REQ_SIZE = 12;
  public static final int DEL_SIZE = Pfsync.STATE_LENGTH;
  public static final int DEL_C_SIZE = 12;
  public static final int BUS_SIZE = 12;
  public static final int INS_SIZE = Pfsync.STATE_LENGTH;
  public static final int UPD_SIZE = Pfsync.STATE_LENGTH;
  public static final int TDB_SIZE = 52;

  private PfsyncAction() {}

  /** True for the actions this codec decodes and encodes. */
  public static boolean isSupported(int action) {
    return size(action) > 0;
  }

  /**
   * True for codes OpenBSD v6 defines but no longer sends or never implemented (1, 3, 8, 9, 11,
   * 12).
   */
  public static boolean isObsolete(int action) {
    return action == OINS
        || action == OUPD
        || action == INS_F
        || action == DEL_F
        || action == OTDB
        || action == EOF;
  }

  /**
   * Size in bytes of one message of a supported action; -1 for any other code. Always a multiple of
   * 4.
   */
  public static int size(int action) {
    return switch (action) {
      case CLR -> CLR_SIZE;
      case INS_ACK -> INS_ACK_SIZE;
      case UPD_C -> UPD_C_SIZE;
      case UPD_REQ -> UPD_REQ_SIZE;
      case DEL -> DEL_SIZE;
      case DEL_C -> DEL_C_SIZE;
      case BUS -> BUS_SIZE;
      case INS -> INS_SIZE;
      case UPD -> UPD_SIZE;
      case TDB -> TDB_SIZE;
      default -> -1;
    };
  }

  public static String name(int action) {
    return switch (action) {
      case CLR -> "CLR";
      case OINS -> "OINS";
      case INS_ACK -> "INS_ACK";
      case OUPD -> "OUPD";
      case UPD_C -> "UPD_C";
      case UPD_REQ -> "UPD_REQ";
      case DEL -> "DEL";
      case DEL_C -> "DEL_C";
      case INS_F -> "INS_F";
      case DEL_F -> "DEL_F";
      case BUS -> "BUS";
      case OTDB -> "OTDB";
      case EOF -> "EOF";
      case INS -> "INS";
      case UPD -> "UPD";
      case TDB -> "TDB";
      default -> "ACTION_" + action;
    };
  }
}
