package dev.carpoperator.agent.carp;

import java.net.InetAddress;
import java.util.Objects;

/** Outcome of {@link AdvertValidator#validate}. */
public sealed interface ValidationResult {

  /** A well-formed, authenticated advert from another node, ready for the vhost's state machine. */
  record Accepted(CarpAdvert advert, InetAddress source) implements ValidationResult {
    public Accepted {
      Objects.requireNonNull(advert, "advert");
    }
  }

  record Rejected(RejectReason reason) implements ValidationResult {
    public Rejected {
      Objects.requireNonNull(reason, "reason");
    }
  }
}
