package dev.carpoperator.agent.net;

import java.util.HexFormat;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test helper run inside a lab host: captures with {@link PcapFrameIo} and the CARP BPF filter,
 * printing each frame as hex. The receiver throws on the first frame to show that the loop survives
 * it. Args: ifName expectedFrames.
 */
public final class PcapCaptureMain {
  public static void main(String[] args) throws Exception {
    String ifName = args[0];
    int expected = Integer.parseInt(args[1]);
    CountDownLatch done = new CountDownLatch(expected);
    HexFormat hex = HexFormat.of();
    boolean[] thrown = {false};
    try (PcapFrameIo io = PcapFrameIo.builder(ifName).open()) {
      io.start(
          f -> {
            System.out.println("FRAME " + hex.formatHex(f));
            done.countDown();
            if (!thrown[0]) {
              thrown[0] = true;
              throw new IllegalStateException("receiver failure on purpose");
            }
          });
      System.out.println("READY");
      System.out.flush();
      boolean all = done.await(60, TimeUnit.SECONDS);
      System.out.println("ALL " + all);
      System.out.println("STATS " + io.stats());
    }
    System.out.println("CLOSED");
  }
}
