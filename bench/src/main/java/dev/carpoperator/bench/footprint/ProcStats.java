package dev.carpoperator.bench.footprint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the kernel says a process costs: resident memory from {@code /proc/PID/status} (VmRSS,
 * VmHWM) and {@code /proc/PID/smaps_rollup} (Pss: shared pages divided among their users), and CPU
 * time from {@code /proc/PID/stat} (utime + stime, in clock ticks).
 */
public record ProcStats(long rssKiB, long hwmKiB, long pssKiB, long cpuTicks) {
  /**
   * USER_HZ: the unit of utime and stime. 100 on every Linux architecture we run on
   * (sysconf(_SC_CLK_TCK)).
   */
  public static final double TICKS_PER_SECOND = 100.0;

  public static ProcStats of(long pid) {
    Path proc = Path.of("/proc", Long.toString(pid));
    try {
      String status = Files.readString(proc.resolve("status"));
      String rollup =
          Files.exists(proc.resolve("smaps_rollup"))
              ? Files.readString(proc.resolve("smaps_rollup"))
              : "";
      String stat = Files.readString(proc.resolve("stat"));
      // the command name (field 2) may hold spaces: fields are counted after its closing
      // parenthesis
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long utime = Long.parseLong(f[11]); // field 14 of stat
      long stime = Long.parseLong(f[12]); // field 15
      return new ProcStats(
          kib(status, "VmRSS:"), kib(status, "VmHWM:"), kib(rollup, "Pss:"), utime + stime);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/" + pid + " (did the process exit?)", e);
    }
  }

  /** The "Key: 1234 kB" line's number, or -1 when absent. */
  private static long kib(String text, String key) {
    for (String line : text.split("\n")) {
      if (line.startsWith(key))
        return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
    }
    return -1;
  }
}
