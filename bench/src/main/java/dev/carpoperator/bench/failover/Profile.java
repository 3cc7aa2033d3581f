package dev.carpoperator.bench.failover;

/**
 * The two timing profiles compared. BSD: advbase 1 (adverts every second, master-down about 3 s).
 * Fast: adverts about every 100 ms (the agent's {@code profile: fast} with advskew 26, i.e. 26/256
 * s; keepalived advert_int 0.1).
 */
enum Profile {
  BSD("bsd", "BSD-compatible (advbase 1)", 1.0),
  FAST("fast", "fast (about 100 ms adverts)", 26 / 256.0);

  final String key;
  final String label;

  /** The agent's advertisement interval in seconds: the unit of the fast-profile target. */
  final double intervalSeconds;

  Profile(String key, String label, double intervalSeconds) {
    this.key = key;
    this.label = label;
    this.intervalSeconds = intervalSeconds;
  }

  /** The agent's and ucarp's advskew in this profile (the same on both nodes). */
  int advskew() {
    return this == BSD ? 0 : 26;
  }
}
