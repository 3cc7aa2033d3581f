package dev.carpoperator.agent.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.carpoperator.agent.carp.AdvertValidator;
import dev.carpoperator.agent.carp.CarpAdvert;
import dev.carpoperator.agent.carp.CarpCodec;
import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.CarpStateMachine;
import dev.carpoperator.agent.carp.InternetChecksum;
import dev.carpoperator.agent.carp.RejectReason;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.carp.VhostConfig;
import dev.carpoperator.agent.engine.CarpReceivePipeline;
import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.net.FrameParser;
import dev.carpoperator.agent.net.MacAddress;
import java.util.Arrays;

/**
 * The CARP receive path the engine runs, on arbitrary IP packets: {@link CarpReceivePipeline}
 * itself ({@link FrameParser} → filter → {@link AdvertValidator}) → (accepted adverts) {@link
 * CarpStateMachine}. Contract: no exception anywhere; every frame yields one outcome, and every
 * protocol-112 packet exactly one result, counted once (accepted, or under one {@link
 * RejectReason}); an accepted advert had TTL 255, 36 bytes, a known vhid and a valid HMAC, and
 * decodes to the bytes it came in.
 *
 * <p>The first input byte is a control byte: bit 0 set recomputes the IPv4 header checksum, bit 1
 * the CARP checksum, before parsing. A fuzzer cannot guess Internet checksums, so without this
 * almost every mutation would stop at the checksum checks; with it, mutations reach the vhid,
 * version, HMAC and loop checks and, since the HMAC does not cover advskew, advbase and demote (as
 * in OpenBSD), the state machine with arbitrary values.
 *
 * <p>Under plain JUnit (mvn verify) this runs the committed inputs in {@code
 * src/test/resources/.../CarpAdvertFuzzTestInputs}; {@code ./carp fuzz} fuzzes it (JAZZER_FUZZ=1).
 * Seeds: {@link FuzzSeeds}.
 */
class CarpAdvertFuzzTest {

  /** The receiver's own MAC: the fuzzed frames come from {@link FuzzFixtures#PEER_MAC}. */
  static final MacAddress OWN_MAC = MacAddress.parse("02:00:00:00:00:01");

  @FuzzTest(maxDuration = "60s")
  void ipPacket(byte[] input) {
    if (input.length == 0) return;
    byte[] ip = Arrays.copyOfRange(input, 1, input.length);
    fixChecksums(ip, input[0]);
    RejectionCounters counters = new RejectionCounters();
    CarpReceivePipeline pipeline =
        new CarpReceivePipeline(new AdvertValidator(FuzzFixtures::keys, counters), OWN_MAC);
    CarpReceivePipeline.Outcome outcome = pipeline.receive(FuzzFixtures.frame(ip));

    long counted =
        counters.accepted()
            + counters.snapshot().values().stream().mapToLong(Long::longValue).sum();
    switch (outcome) {
      case CarpReceivePipeline.Unparsable u -> {
        check(counted == 0, "an unparsable frame counted");
        return;
      }
      case CarpReceivePipeline.NotCarp n -> {
        check(n.packet().protocol() != CarpFrames.IPPROTO_CARP, "a CARP packet taken as not CARP");
        check(counted == 0, "another protocol counted");
        return;
      }
      case CarpReceivePipeline.OwnFrame o ->
          throw new AssertionError("a peer's frame taken as own");
      default -> {}
    }
    check(counted == 1, "one packet counted " + counted + " times");
    switch (outcome) {
      case CarpReceivePipeline.Rejected r ->
          check(counters.rejected(r.reason()) == 1, "rejection not counted under " + r.reason());
      case CarpReceivePipeline.Accepted a -> {
        FrameParser.Packet p = a.packet();
        byte[] payload = p.payload();
        CarpAdvert advert = a.advert();
        check(p.hopLimit() == CarpFrames.TTL, "accepted with TTL " + p.hopLimit());
        check(payload.length >= 36, "accepted with " + payload.length + " bytes");
        check(FuzzFixtures.keys(advert.vhid()) != null, "accepted unknown vhid " + advert.vhid());
        check(
            advert.vhid() == (payload[1] & 0xff)
                && advert.advskew() == (payload[2] & 0xff)
                && advert.advbase() == (payload[5] & 0xff)
                && Arrays.equals(advert.digest(), Arrays.copyOfRange(payload, 16, 36)),
            "decoded fields differ from the bytes");
        check(advert.counter() != FuzzFixtures.OUR_COOKIE, "our own cookie accepted");
        // Whatever an authenticated peer puts in advbase/advskew/demote (the HMAC does not cover
        // them, as in
        // OpenBSD), the state machine must take it in every state and profile.
        for (VhostConfig config :
            new VhostConfig[] {
              VhostConfig.of(advert.vhid(), 1, 100, true),
              VhostConfig.fast(advert.vhid(), 10, false)
            }) {
          for (CarpState state :
              new CarpState[] {CarpState.INIT, CarpState.BACKUP, CarpState.MASTER}) {
            CarpStateMachine sm = new CarpStateMachine(config, FuzzFixtures.OUR_COOKIE);
            long now = 1_000_000_000L;
            if (state != CarpState.INIT) {
              sm.start(now); // BACKUP
              if (state == CarpState.MASTER) {
                // at master-down, tick by tick (a tick late by a whole interval only re-arms)
                while (sm.state() == CarpState.BACKUP) {
                  now = sm.nextDeadline().orElseThrow();
                  sm.tick(now);
                }
              }
              check(sm.state() == state, "not " + state + " before the advert");
            }
            sm.advertReceived(now + 1, advert);
            sm.tick(now + 10_000_000_000L);
            check(sm.state() != null, "no state");
          }
        }
      }
      default -> throw new AssertionError("not reached");
    }
  }

  /**
   * Recomputes the checksums the control byte asks for, where the packet is long enough to hold
   * them.
   */
  static void fixChecksums(byte[] ip, int control) {
    boolean v4 = ip.length >= 20 && (ip[0] & 0xf0) == 0x40;
    int hlen = v4 ? (ip[0] & 0x0f) * 4 : 40;
    if ((control & 1) != 0 && v4 && hlen >= 20 && hlen <= ip.length) {
      ip[10] = ip[11] = 0;
      int c = InternetChecksum.compute(ip, 0, hlen);
      ip[10] = (byte) (c >>> 8);
      ip[11] = (byte) c;
    }
    if ((control & 2) != 0 && ip.length >= hlen + CarpCodec.HEADER_LENGTH) {
      ip[hlen + 6] = ip[hlen + 7] = 0;
      int c = InternetChecksum.compute(ip, hlen, CarpCodec.HEADER_LENGTH);
      ip[hlen + 6] = (byte) (c >>> 8);
      ip[hlen + 7] = (byte) c;
    }
  }

  static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }
}
