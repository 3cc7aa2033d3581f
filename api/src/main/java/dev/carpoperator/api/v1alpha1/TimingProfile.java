package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How advertisement timing is encoded on the wire. */
public enum TimingProfile {
  /**
   * advbase seconds + advskew/256 s, advbase 1-255: wire-compatible with OpenBSD, FreeBSD and
   * ucarp.
   */
  @JsonProperty("bsd")
  BSD,
  /**
   * Linux-only sub-second intervals: advbase is 0 and the interval is advskew/256 s (about 4 ms
   * steps). Not BSD-compatible: ucarp refuses advbase 0 and OpenBSD ignores bow-out adverts from
   * such a peer.
   */
  @JsonProperty("fast")
  FAST
}
