package dev.carpoperator.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a result was measured on: cores, kernel, JVM, and the peers' versions where a part used
 * them.
 */
public final class Machine {
  private Machine() {}

  public static Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
    try {
      m.put("kernel", Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim());
    } catch (IOException e) {
      m.put("kernel", "unknown");
    }
    m.put("java", System.getProperty("java.vm.vendor", "") + " " + Runtime.version());
    return m;
  }
}
