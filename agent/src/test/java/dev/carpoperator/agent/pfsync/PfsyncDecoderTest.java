package dev.carpoperator.agent.pfsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.pfsync.PfsyncDecodeResult.Decoded;
import dev.carpoperator.agent.pfsync.PfsyncDecodeResult.Rejected;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Bus;
import dev.carpoperator.agent.pfsync.PfsyncMessage.DelC;
import dev.carpoperator.agent.pfsync.PfsyncMessage.Upd;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Validation and the section skip rules (docs/protocols/pfsync.md §2, §12). */
class PfsyncDecoderTest {

  /** Assembles a packet from raw sections; the header len is the true length unless overridden. */
  static final class Raw {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int version = 6;
    private Integer len;

    Raw version(int v) {
      version = v;
      return this;
    }

    Raw len(int v) {
      len = v;
      return this;
    }

    Raw section(int action, int words, int count, byte[] body) {
      out.write(action);
      out.write(words);
      out.write(count >>> 8);
      out.write(count);
      out.writeBytes(body);
      return this;
    }

    Raw bytes(byte[] b) {
      out.writeBytes(b);
      return this;
    }

    byte[] build() {
      byte[] body = out.toByteArray();
      byte[] p = new byte[20 + body.length];
      int l = len != null ? len : p.length;
      p[0] = (byte) version;
      p[2] = (byte) (l >>> 8);
      p[3] = (byte) l;
      System.arraycopy(body, 0, p, 20, body.length);
      return p;
    }
  }

  static byte[] delC(long id, int creator) {
    return PfsyncEncoder.encodeMessage(new DelC(id, creator));
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      o.writeBytes(p);
    }
    return o.toByteArray();
  }

  static Decoded decoded(byte[] p) {
    PfsyncDecodeResult r = PfsyncDecoder.decode(p);
    assertThat(r).isInstanceOf(Decoded.class);
    return (Decoded) r;
  }

  static PfsyncRejectReason rejected(byte[] p) {
    PfsyncDecodeResult r = PfsyncDecoder.decode(p);
    assertThat(r).isInstanceOf(Rejected.class);
    assertThat(((Rejected) r).detail()).isNotBlank();
    return ((Rejected) r).reason();
  }

  @Test
  void unknownActionSectionIsSkippedAndParsingContinues() {
    byte[] p =
        new Raw()
            .section(7, 3, 1, delC(1, 9))
            .section(200, 3, 2, new byte[24])
            .section(16, 0, 65535, new byte[0])
            .section(7, 3, 1, delC(2, 9))
            .build();
    Decoded d = decoded(p);
    assertThat(d.messages()).containsExactly(new DelC(1, 9), new DelC(2, 9));
    assertThat(d.skipped(PfsyncSkipReason.UNKNOWN_ACTION)).isEqualTo(2);
    assertThat(d.skippedMessages()).isEqualTo(65537);
    assertThat(d.skippedSectionCount()).isEqualTo(2);
  }

  @Test
  void obsoleteActionsAreSkipped() {
    byte[] p =
        new Raw()
            .section(PfsyncAction.EOF, 0, 0, new byte[0])
            .section(PfsyncAction.OINS, 2, 1, new byte[8])
            .section(PfsyncAction.OTDB, 1, 3, new byte[12])
            .section(7, 3, 1, delC(3, 9))
            .build();
    Decoded d = decoded(p);
    assertThat(d.messages()).containsExactly(new DelC(3, 9));
    assertThat(d.skipped(PfsyncSkipReason.OBSOLETE_ACTION)).isEqualTo(3);
    assertThat(d.skipped(PfsyncSkipReason.UNKNOWN_ACTION)).isZero();
  }

  @Test
  void lenShorterThanTheStructSkipsTheSection() {
    RandomMessages r = new RandomMessages(8);
    byte[] state = PfsyncEncoder.encodeMessage(new Upd(r.state()));
    // An older 65-word state: shorter than OpenBSD's current 66, so skipped whole (2 x 260 bytes).
    byte[] p =
        new Raw()
            .section(
                PfsyncAction.UPD,
                65,
                2,
                concat(Arrays.copyOf(state, 260), Arrays.copyOf(state, 260)))
            .section(PfsyncAction.DEL_C, 2, 1, new byte[8])
            .section(PfsyncAction.INS, 0, 65535, new byte[0])
            .section(7, 3, 1, delC(4, 9))
            .build();
    Decoded d = decoded(p);
    assertThat(d.messages()).containsExactly(new DelC(4, 9));
    assertThat(d.skipped(PfsyncSkipReason.SHORT_LENGTH)).isEqualTo(3);
    assertThat(d.skippedMessages()).isEqualTo(2 + 1 + 65535);
  }

  @Test
  void lenLongerThanTheStructReadsThePrefixAndStepsByLen() {
    RandomMessages r = new RandomMessages(9);
    Upd a = new Upd(r.state());
    Upd b = new Upd(r.state());
    byte[] tail = new byte[16];
    Arrays.fill(tail, (byte) 0xee); // a future OpenBSD's extra fields
    byte[] body =
        concat(PfsyncEncoder.encodeMessage(a), tail, PfsyncEncoder.encodeMessage(b), tail);
    byte[] p =
        new Raw()
            .section(PfsyncAction.UPD, 70, 2, body)
            .section(
                PfsyncAction.BUS,
                4,
                1,
                concat(PfsyncEncoder.encodeMessage(new Bus(5, 6, 1)), new byte[] {9, 9, 9, 9}))
            .section(7, 3, 1, delC(5, 9))
            .build();
    Decoded d = decoded(p);
    assertThat(d.messages()).containsExactly(a, b, new Bus(5, 6, 1), new DelC(5, 9));
    assertThat(d.extendedSections()).isEqualTo(2);
    assertThat(d.skippedSections()).isEmpty();
  }

  @Test
  void freeBsdVersion5IsRefusedWhole() {
    // A FreeBSD-style packet: version 5, subheader byte 1 is pad, DEL_C then the mandatory EOF.
    byte[] p =
        new Raw().version(5).section(7, 0, 1, delC(1, 2)).section(12, 0, 0, new byte[0]).build();
    assertThat(rejected(p)).isEqualTo(PfsyncRejectReason.FREEBSD_VERSION);
  }

  @Test
  void otherVersionsAreBadVersion() {
    for (int v : new int[] {0, 1, 2, 4, 7, 255}) {
      assertThat(rejected(new Raw().version(v).build())).isEqualTo(PfsyncRejectReason.BAD_VERSION);
    }
  }

  @Test
  void headerLengthChecks() {
    assertThat(rejected(new byte[0])).isEqualTo(PfsyncRejectReason.BAD_LENGTH);
    assertThat(rejected(new byte[19])).isEqualTo(PfsyncRejectReason.BAD_LENGTH);
    assertThat(PfsyncDecoder.decode(null))
        .isEqualTo(new PfsyncDecodeResult.Rejected(PfsyncRejectReason.BAD_LENGTH, "no buffer"));
    assertThat(rejected(new Raw().len(19).build())).isEqualTo(PfsyncRejectReason.BAD_LENGTH);
    assertThat(rejected(new Raw().len(0).build())).isEqualTo(PfsyncRejectReason.BAD_LENGTH);
    assertThat(rejected(new Raw().section(7, 3, 1, delC(1, 1)).len(37).build()))
        .isEqualTo(PfsyncRejectReason.BAD_LENGTH);
  }

  @Test
  void bytesAfterTheHeaderLenAreIgnored() {
    byte[] p =
        new Raw()
            .section(7, 3, 1, delC(1, 1))
            .len(36)
            .bytes(new byte[] {(byte) 0xff, 1, 2, 3, 4, 5})
            .build();
    Decoded d = decoded(p);
    assertThat(d.header().length()).isEqualTo(36);
    assertThat(d.messages()).containsExactly(new DelC(1, 1));
  }

  @Test
  void sectionsRunningPastTheEndAreTruncated() {
    // A huge count on a short buffer must be refused without trying to read (or allocate) 65535
    // states.
    byte[] huge = new Raw().section(PfsyncAction.UPD, 66, 65535, new byte[264]).build();
    assertThat(rejected(huge)).isEqualTo(PfsyncRejectReason.TRUNCATED);
    assertThat(rejected(new Raw().section(7, 3, 2, delC(1, 1)).build()))
        .isEqualTo(PfsyncRejectReason.TRUNCATED);
    // Unknown actions are bounds-checked too.
    assertThat(rejected(new Raw().section(99, 255, 2, new byte[100]).build()))
        .isEqualTo(PfsyncRejectReason.TRUNCATED);
    // 1..3 stray bytes where a subheader should start.
    for (int n = 1; n <= 3; n++) {
      assertThat(rejected(new Raw().section(7, 3, 1, delC(1, 1)).bytes(new byte[n]).build()))
          .isEqualTo(PfsyncRejectReason.TRUNCATED);
    }
    // A section that is fine in the buffer but beyond the header's len.
    assertThat(rejected(new Raw().section(7, 3, 1, delC(1, 1)).len(30).build()))
        .isEqualTo(PfsyncRejectReason.TRUNCATED);
  }

  @Test
  void decodesAtAnOffsetAndRejectsBadBounds() {
    byte[] p = new Raw().section(7, 3, 1, delC(8, 8)).build();
    byte[] framed = concat(new byte[20], p, new byte[7]);
    PfsyncDecodeResult r = PfsyncDecoder.decode(framed, 20, p.length);
    assertThat(((Decoded) r).messages()).containsExactly(new DelC(8, 8));
    for (int[] bad :
        new int[][] {
          {-1, 10},
          {0, -1},
          {20, framed.length},
          {framed.length + 1, 0},
          {Integer.MAX_VALUE, Integer.MAX_VALUE}
        }) {
      assertThat(PfsyncDecoder.decode(framed, bad[0], bad[1]))
          .isInstanceOf(Rejected.class)
          .extracting(x -> ((Rejected) x).reason())
          .isEqualTo(PfsyncRejectReason.BAD_LENGTH);
    }
  }

  @Test
  void nonZeroPfcksumIsCarriedNotChecked() {
    byte[] p = new Raw().section(7, 3, 1, delC(1, 1)).build();
    for (int i = 4; i < 20; i++) {
      p[i] = (byte) i;
    }
    Decoded d = decoded(p);
    assertThat(d.header().cksumIsZero()).isFalse();
    assertThat(d.header().pfcksum()).isEqualTo(Arrays.copyOfRange(p, 4, 20));
    assertThat(d.messages()).hasSize(1);
  }

  @Test
  void ifnameStopsAtTheFirstNul() {
    byte[] body = new byte[20];
    body[0] = 'e';
    body[1] = 'm';
    body[2] = 0;
    body[3] = 'x'; // junk after the terminator is not part of the name
    Decoded d = decoded(new Raw().section(PfsyncAction.CLR, 5, 1, body).build());
    assertThat(d.messages()).containsExactly(new PfsyncMessage.Clr("em", 0));
  }
}
