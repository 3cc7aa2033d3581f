package dev.carpoperator.agent.carp;

import java.util.random.RandomGenerator;

/**
 * OpenBSD current's replay counter (docs/protocols/carp.md §3): each vhost picks one random 64-bit
 * cookie, sends it as the counter in every advert and never increments it. The only receive check
 * is that a packet carrying our own cookie is our own advert looped back. There is deliberately no
 * "counter must increase" check: OpenBSD masters send a constant counter and FreeBSD/ucarp
 * adopt-and-increment, so such a check would break interop. Consequence, as in OpenBSD: the HMAC
 * gives no replay protection.
 */
public final class ReplayCookie {
  private ReplayCookie() {}

  /**
   * Draws a cookie. Production should pass a {@link java.security.SecureRandom}; tests a seeded
   * generator.
   */
  public static long draw(RandomGenerator random) {
    return random.nextLong();
  }
}
