package dev.carpoperator.agent.linux.conntrack;

import static dev.carpoperator.agent.linux.conntrack.NfConntrack.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.carpoperator.agent.sync.ConntrackEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CtNetlinkDecoder} against libnetfilter_conntrack: a message the library builds from an
 * entry (NATed reply tuples included, and attributes the decoder skips, as the kernel's events
 * carry), parsed by the library and read by {@link NfctCodec#toEntry}, gives the entry the decoder
 * reads from the same bytes. Truncated and garbled messages give null, never an exception. The
 * kernel's own events go through the decoder in NetfilterConntrackNetnsTest.
 */
class CtNetlinkDecoderTest {
  static final NfConntrack NFCT = CtNetlinkEncoderTest.NFCT;
  static final NfctCodec CODEC = CtNetlinkEncoderTest.CODEC;

  @Test
  void readsWhatTheLibraryReads() throws Exception {
    int compared = 0;
    for (ConntrackEntry e : CtNetlinkEncoderTest.corpus()) {
      byte[] message = message(e);
      ConntrackEntry expected = libraryReads(message);
      ConntrackEntry actual = CtNetlinkDecoder.decode(ByteBuffer.wrap(message));
      assertThat(actual).as("%s", e).isNotNull();
      assertThat(ConntrackScenarios.fields(actual))
          .as("%s", e)
          .isEqualTo(ConntrackScenarios.fields(expected));
      compared++;
    }
    assertThat(compared).isGreaterThan(600);
  }

  @Test
  void truncatedOrGarbledMessagesGiveNullNotAnException() {
    Random random = new Random(17);
    for (ConntrackEntry e : CtNetlinkEncoderTest.corpus().subList(0, 40)) {
      byte[] message = message(e);
      for (int cut = 0; cut < message.length; cut += 3) {
        byte[] truncated = java.util.Arrays.copyOf(message, cut);
        CtNetlinkDecoder.decode(ByteBuffer.wrap(truncated)); // must not throw
      }
      for (int i = 0; i < 50; i++) {
        byte[] garbled = message.clone();
        for (int k = 0; k < 4; k++)
          garbled[20 + random.nextInt(garbled.length - 20)] = (byte) random.nextInt();
        CtNetlinkDecoder.decode(ByteBuffer.wrap(garbled)); // must not throw
      }
    }
    assertThat(CtNetlinkDecoder.decode(ByteBuffer.wrap(new byte[8]))).isNull();
  }

  /** The message the library builds for e, its reply tuple as e has it, plus CTA_USE and CTA_ID. */
  static byte[] message(ConntrackEntry e) {
    try (Memory m = new Memory(4096)) {
      m.clear();
      m.setInt(0, 20);
      m.setShort(4, (short) (1 << 8)); // ctnetlink, IPCTNL_MSG_CT_NEW
      m.setByte(16, (byte) e.family());
      Pointer ct = CODEC.build(e, NfctCodec.Part.ALL);
      try {
        boolean v4 = e.family() == ConntrackEntry.AF_INET;
        NFCT.nfct_set_attr(
            ct, v4 ? ATTR_REPL_IPV4_SRC : ATTR_REPL_IPV6_SRC, e.reply().source().getAddress());
        NFCT.nfct_set_attr(
            ct, v4 ? ATTR_REPL_IPV4_DST : ATTR_REPL_IPV6_DST, e.reply().destination().getAddress());
        if (e.protocol() == 6 || e.protocol() == 17) {
          NFCT.nfct_set_attr(ct, ATTR_REPL_PORT_SRC, be16(e.reply().sourcePort()));
          NFCT.nfct_set_attr(ct, ATTR_REPL_PORT_DST, be16(e.reply().destinationPort()));
        }
        assertThat(NFCT.nfct_nlmsg_build(m, ct)).isZero();
      } finally {
        NFCT.nfct_destroy(ct);
      }
      int len = m.getInt(0);
      ByteBuffer b = ByteBuffer.allocate(len + 16).order(ByteOrder.nativeOrder());
      b.put(m.getByteArray(0, len));
      b.putShort((short) 8).putShort((short) 11).putInt(0x01000000); // CTA_USE
      b.putShort((short) 8).putShort((short) 12).putInt(0x2a000000); // CTA_ID
      b.putInt(0, b.position());
      return b.array();
    }
  }

  static ConntrackEntry libraryReads(byte[] message) throws Exception {
    try (Memory m = new Memory(message.length)) {
      m.write(0, message, 0, message.length);
      Pointer ct = NFCT.nfct_new();
      try {
        assertThat(NFCT.nfct_nlmsg_parse(m, ct)).isGreaterThanOrEqualTo(0);
        return CODEC.toEntry(ct);
      } finally {
        NFCT.nfct_destroy(ct);
      }
    }
  }

  static byte[] be16(int v) {
    return new byte[] {(byte) (v >>> 8), (byte) v};
  }
}
