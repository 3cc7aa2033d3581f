package dev.carpoperator.bench.torture;

import dev.carpoperator.testing.netns.LabProcess;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Follows the streams client ({@link TcpStreamsMain}) and decides which sessions were interrupted: a connection that
 * reported an error (reset, EOF, byte mismatch) or verified no byte for longer than the stall limit. A session is
 * counted once, with the first reason seen; it stays counted even if it recovers later.
 */
final class StreamWatch {
  private final LabProcess client;
  private final long stallLimitMillis;
  /** Connection index → why it counts as interrupted (first reason). */
  private final Map<Integer, String> interrupted = new LinkedHashMap<>();
  private long longestStallMillis;
  private TcpStreamsMain.Progress latest;

  StreamWatch(LabProcess client, Duration stallLimit) {
    this.client = client;
    this.stallLimitMillis = stallLimit.toMillis();
  }

  /** Reads the client's newest progress line and updates the verdicts; returns it (null before the first line). */
  synchronized TcpStreamsMain.Progress poll() {
    TcpStreamsMain.Progress p = newestLine();
    if (p == null) return latest;
    latest = p;
    for (int i = 0; i < p.connections(); i++) {
      if (p.errors()[i] != null) interrupted.putIfAbsent(i, p.errors()[i] + " (port " + p.ports()[i] + ")");
      if (p.lastProgressAt()[i] == 0) continue; // not connected yet
      long stall = p.at() - p.lastProgressAt()[i];
      longestStallMillis = Math.max(longestStallMillis, stall);
      if (stall > stallLimitMillis) interrupted.putIfAbsent(i, "stalled " + stall / 1000 + " s (port " + p.ports()[i] + ")");
    }
    return p;
  }

  synchronized Map<Integer, String> interrupted() {
    return new LinkedHashMap<>(interrupted);
  }

  synchronized long longestStallMillis() {
    return longestStallMillis;
  }

  synchronized TcpStreamsMain.Progress latest() {
    return latest;
  }

  /** The last progress or summary line, from the end of the log only (the log grows by a line a second for hours). */
  private TcpStreamsMain.Progress newestLine() {
    try (RandomAccessFile f = new RandomAccessFile(client.log().toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.min(len, 256 * 1024);
      byte[] buf = new byte[n];
      f.seek(len - n);
      f.readFully(buf);
      List<TcpStreamsMain.Progress> lines = TcpStreamsMain.Progress.parse(new String(buf, StandardCharsets.UTF_8));
      return lines.isEmpty() ? null : lines.getLast();
    } catch (IOException e) {
      return null; // not written yet
    }
  }
}
