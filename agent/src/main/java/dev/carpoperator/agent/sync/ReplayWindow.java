package dev.carpoperator.agent.sync;

import java.util.HashMap;
import java.util.Map;

/**
 * Replay protection for authenticated sync packets, per sender session (the salt of one start,
 * {@link SyncEnvelope}): the highest counter seen and a 64-packet window below it (as IPsec's
 * anti-replay window), so a little reordering on the link is tolerated but no counter is accepted
 * twice. A receiver that restarts forgets all this; the envelope's time window and {@link #anchor}
 * (a packet answering our own bulk request proves the session live at that counter) cover that
 * case. Check only after the packet authenticated, or forged counters could poison the window.
 */
public final class ReplayWindow {
  static final int WIDTH = 64;
  private static final int MAX_SENDERS = 1024;

  private static final class Seen {
    long highest;
    long bitmap;
    boolean anchored;
  }

  private final Map<SyncEnvelope.Session, Seen> senders = new HashMap<>();

  /**
   * True (and recorded) when {@code counter} from {@code session} was not seen before and is not
   * too old.
   */
  public synchronized boolean accept(SyncEnvelope.Session session, long counter) {
    Seen s = senders.get(session);
    if (s == null) {
      if (senders.size() >= MAX_SENDERS)
        senders.clear(); // bounded memory; only authenticated senders get here
      s = new Seen();
      s.highest = counter;
      s.bitmap = 1L;
      senders.put(session, s);
      return true;
    }
    if (counter > s.highest) {
      long shift = counter - s.highest;
      s.bitmap = shift >= WIDTH ? 1L : (s.bitmap << shift) | 1L;
      s.highest = counter;
      return true;
    }
    long age = s.highest - counter;
    if (age >= WIDTH) return false;
    long bit = 1L << age;
    if ((s.bitmap & bit) != 0) return false;
    s.bitmap |= bit;
    return true;
  }

  /**
   * The session answered our bulk request at {@code counter}, so it is live and everything it sent
   * up to there is behind us: from now on only higher counters are taken (no packet sent before our
   * request can be replayed).
   */
  public synchronized void anchor(SyncEnvelope.Session session, long counter) {
    Seen s = senders.computeIfAbsent(session, k -> new Seen());
    if (!s.anchored || counter > s.highest) {
      s.highest = Math.max(s.highest, counter);
      s.bitmap = -1L;
    }
    s.anchored = true;
  }

  /** Whether the session answered one of our bulk requests. */
  public synchronized boolean anchored(SyncEnvelope.Session session) {
    Seen s = senders.get(session);
    return s != null && s.anchored;
  }
}
