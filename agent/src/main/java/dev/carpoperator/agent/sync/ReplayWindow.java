package dev.carpoperator.agent.sync;

import java.util.HashMap;
import java.util.Map;

/**
 * Replay protection for authenticated sync packets, per sender: the highest counter seen and a 64-packet window
 * below it (as IPsec's anti-replay window), so a little reordering on the link is tolerated but no counter is
 * accepted twice. Senders start their counter from the wall clock in microseconds, so a restarted peer continues
 * above its old counters. Check only after the packet authenticated, or forged counters could poison the window.
 */
public final class ReplayWindow {
  static final int WIDTH = 64;
  private static final int MAX_SENDERS = 1024;

  private final Map<Integer, long[]> senders = new HashMap<>(); // sender -> {highest, bitmap}

  /** True (and recorded) when {@code counter} from {@code sender} was not seen before and is not too old. */
  public synchronized boolean accept(int sender, long counter) {
    long[] s = senders.get(sender);
    if (s == null) {
      if (senders.size() >= MAX_SENDERS) senders.clear(); // bounded memory; only authenticated senders get here
      senders.put(sender, new long[] {counter, 1L});
      return true;
    }
    long highest = s[0];
    if (counter > highest) {
      long shift = counter - highest;
      s[1] = shift >= WIDTH ? 1L : (s[1] << shift) | 1L;
      s[0] = counter;
      return true;
    }
    long age = highest - counter;
    if (age >= WIDTH) return false;
    long bit = 1L << age;
    if ((s[1] & bit) != 0) return false;
    s[1] |= bit;
    return true;
  }
}
