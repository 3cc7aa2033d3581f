package dev.carpoperator.agent.pfsync;

import java.util.Random;

/** Seeded random model values covering the full range of every field. */
final class RandomMessages {
  private final Random rnd;

  RandomMessages(long seed) {
    rnd = new Random(seed);
  }

  Random random() {
    return rnd;
  }

  int u8() {
    return rnd.nextInt(256);
  }

  int u16() {
    return rnd.nextInt(65536);
  }

  String ifname() {
    int n = rnd.nextInt(17);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append((char) (1 + rnd.nextInt(255)));
    }
    return sb.toString();
  }

  PfAddr addr() {
    return new PfAddr(rnd.nextLong(), rnd.nextLong());
  }

  StateKey key() {
    return new StateKey(addr(), addr(), u16(), u16(), u16(), u8());
  }

  StatePeer peer() {
    return new StatePeer(
        u16(),
        u8(),
        u8(),
        rnd.nextInt(),
        rnd.nextInt(),
        rnd.nextInt(),
        rnd.nextInt(),
        u16(),
        u16(),
        u8(),
        u8());
  }

  PfsyncState state() {
    return new PfsyncState(
        rnd.nextLong(),
        ifname(),
        key(),
        key(),
        peer(),
        peer(),
        addr(),
        rnd.nextInt(),
        rnd.nextInt(),
        rnd.nextInt(),
        rnd.nextInt(),
        rnd.nextInt(),
        rnd.nextLong(),
        rnd.nextLong(),
        rnd.nextLong(),
        rnd.nextLong(),
        rnd.nextInt(),
        rnd.nextInt(),
        rnd.nextInt(),
        u16(),
        u8(),
        u8(),
        u8(),
        u8(),
        u8(),
        u8(),
        u8(),
        u8(),
        u8(),
        u8(),
        u16(),
        u8(),
        u8());
  }

  PfsyncMessage message(int kind) {
    return switch (kind) {
      case 0 -> new PfsyncMessage.Clr(ifname(), rnd.nextInt());
      case 1 -> new PfsyncMessage.InsAck(rnd.nextLong(), rnd.nextInt());
      case 2 ->
          new PfsyncMessage.UpdC(
              rnd.nextLong(), peer(), peer(), rnd.nextInt(), rnd.nextInt(), u8(), u8());
      case 3 -> new PfsyncMessage.UpdReq(rnd.nextLong(), rnd.nextInt());
      case 4 -> new PfsyncMessage.DelC(rnd.nextLong(), rnd.nextInt());
      case 5 -> new PfsyncMessage.Bus(rnd.nextInt(), rnd.nextInt(), u8());
      case 6 -> new PfsyncMessage.Ins(state());
      case 7 -> new PfsyncMessage.Upd(state());
      case 8 -> new PfsyncMessage.Del(state());
      case 9 -> {
        byte[] dst = new byte[28];
        rnd.nextBytes(dst);
        yield new PfsyncMessage.Tdb(
            rnd.nextInt(), dst, rnd.nextLong(), rnd.nextLong(), u8(), u8(), u16());
      }
      default -> throw new IllegalArgumentException();
    };
  }

  static final int KINDS = 10;

  PfsyncMessage message() {
    return message(rnd.nextInt(KINDS));
  }
}
