package dev.carpoperator.agent.sync;

import java.util.Objects;

/** Outcome of {@link SyncPacketValidator#validate}. */
public sealed interface SyncValidationResult {

  /**
   * A packet of the unauthenticated (bsd-compatible) mode from an acceptable sender, for {@link
   * SyncCore#receive}.
   *
   * @param pfsync a copy of the IP payload
   */
  record Plain(byte[] pfsync) implements SyncValidationResult {
    public Plain {
      Objects.requireNonNull(pfsync, "pfsync");
    }
  }

  /**
   * An authenticated and fresh packet, for {@link SyncCore#receiveSealed} (which checks replays).
   */
  record Sealed(SyncEnvelope.Opened opened) implements SyncValidationResult {
    public Sealed {
      if (!opened.ok()) throw new IllegalArgumentException("not opened: " + opened.failure());
    }
  }

  /**
   * @param message the log line: the sender and what to do about it
   */
  record Rejected(SyncRejectReason reason, String message) implements SyncValidationResult {
    public Rejected {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(message, "message");
    }
  }
}
