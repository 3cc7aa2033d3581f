package dev.carpoperator.testing.netns;

import java.net.NetworkInterface;
import java.util.HexFormat;

/**
 * Launched inside a lab host by the test: prints its interfaces so the test can tell where it ran.
 */
public final class WhereAmIMain {
  public static void main(String[] args) throws Exception {
    for (NetworkInterface nif : NetworkInterface.networkInterfaces().toList()) {
      byte[] mac = nif.getHardwareAddress();
      System.out.println(
          "if "
              + nif.getName()
              + " "
              + (mac == null ? "-" : HexFormat.ofDelimiter(":").formatHex(mac)));
    }
    System.out.println("args " + String.join(",", args));
    System.out.flush();
    if (args.length > 0 && args[0].equals("sleep")) {
      Thread.sleep(600_000);
    }
  }
}
