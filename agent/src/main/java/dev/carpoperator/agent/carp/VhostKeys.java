package dev.carpoperator.agent.carp;

import java.util.Objects;

/**
 * What receive validation needs to know about one local vhost.
 *
 * @param hmac the vhost's HMAC context (key + address set)
 * @param replayCookie the counter this vhost sends (see {@link ReplayCookie}); an advert carrying
 *     it is our own
 */
public record VhostKeys(CarpHmac hmac, long replayCookie) {
  public VhostKeys {
    Objects.requireNonNull(hmac, "hmac");
  }
}
