package dev.carpoperator.testing.traffic;

import dev.carpoperator.testing.netns.LabProcess;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Follows one streams client ({@link TcpStreamsMain}) and decides which of its sessions were
 * interrupted: a connection that reported an error (reset, EOF, byte mismatch) or verified no byte
 * for longer than the stall limit, and, once stopped, one whose bytes did not all come back. A
 * session is counted once, with the first reason seen; it stays counted even if it recovers later.
 * Sessions are named {@code <label>#<index>}. The torture runs use it: the network-namespace one
 * (bench) and the Kubernetes one (lab).
 */
public final class StreamWatch {
  private final String label;
  private final LabProcess client;
  private final int connections;
  private final long stallLimitMillis;
  private final Map<String, String> interrupted = new LinkedHashMap<>();
  private long longestStallMillis;

  /** The longest stall seen since {@link #resetStepStall}: the current step's. */
  private long stepStallMillis;

  private TcpStreamsMain.Progress latest;
  private boolean stopped;

  public StreamWatch(String label, LabProcess client, int connections, Duration stallLimit) {
    this.label = label;
    this.client = client;
    this.connections = connections;
    this.stallLimitMillis = stallLimit.toMillis();
  }

  public String label() {
    return label;
  }

  public int connections() {
    return connections;
  }

  /**
   * Reads the client's newest progress line and updates the verdicts; returns it (null before the
   * first line).
   */
  public synchronized TcpStreamsMain.Progress poll() {
    if (stopped) return latest;
    TcpStreamsMain.Progress p = newestLine();
    if (p == null) return latest;
    latest = p;
    for (int i = 0; i < p.connections(); i++) {
      if (p.errors()[i] != null) interrupt(i, p.errors()[i] + " (port " + p.ports()[i] + ")");
      if (p.lastProgressAt()[i] == 0) continue; // not connected yet
      long stall = p.at() - p.lastProgressAt()[i];
      longestStallMillis = Math.max(longestStallMillis, stall);
      stepStallMillis = Math.max(stepStallMillis, stall);
      if (stall > stallLimitMillis)
        interrupt(i, "stalled " + stall / 1000 + " s (port " + p.ports()[i] + ")");
    }
    return p;
  }

  /**
   * True when every session verified more than {@code bytes} since {@code since} (null: since it
   * started); false while not, or when a session failed.
   */
  public synchronized boolean flowingSince(TcpStreamsMain.Progress since, long bytes) {
    TcpStreamsMain.Progress p = latest;
    if (p == null || p.connections() != connections) return false;
    for (int i = 0; i < connections; i++) {
      if (p.errors()[i] != null) return false;
      long base = since == null || since.connections() != connections ? 0 : since.verified()[i];
      if (p.verified()[i] - base <= bytes) return false;
    }
    return true;
  }

  public synchronized boolean failed() {
    return latest != null && !latest.failed().isEmpty();
  }

  /**
   * Stops the client (SIGTERM: it drains and prints a summary) and checks that every byte came
   * back.
   */
  public void stop() {
    client.stop(Duration.ofMillis(TcpStreamsMain.DRAIN_MILLIS + 5000));
    List<TcpStreamsMain.Progress> all = TcpStreamsMain.Progress.parse(client.output());
    synchronized (this) {
      stopped = true;
      TcpStreamsMain.Progress end = all.isEmpty() ? null : all.getLast();
      if (end == null || !end.type().equals("summary")) {
        for (int i = 0; i < connections; i++) interrupt(i, "no summary from the client");
        return;
      }
      latest = end;
      for (int i = 0; i < end.connections(); i++) {
        if (end.errors()[i] != null)
          interrupt(i, end.errors()[i] + " (port " + end.ports()[i] + ")");
        else if (!end.drained()[i])
          interrupt(i, "not every byte came back at the end (port " + end.ports()[i] + ")");
      }
    }
  }

  private void interrupt(int i, String why) {
    interrupted.putIfAbsent(label + "#" + i, why);
  }

  public synchronized Map<String, String> interrupted() {
    return new LinkedHashMap<>(interrupted);
  }

  public synchronized void resetStepStall() {
    stepStallMillis = 0;
  }

  public synchronized long stepStallMillis() {
    return stepStallMillis;
  }

  public synchronized long longestStallMillis() {
    return longestStallMillis;
  }

  public synchronized TcpStreamsMain.Progress latest() {
    return latest;
  }

  /**
   * The last progress or summary line, from the end of the log only (the log grows by a line a
   * second for hours).
   */
  private TcpStreamsMain.Progress newestLine() {
    try (RandomAccessFile f = new RandomAccessFile(client.log().toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.min(len, 256 * 1024);
      byte[] buf = new byte[n];
      f.seek(len - n);
      f.readFully(buf);
      List<TcpStreamsMain.Progress> lines =
          TcpStreamsMain.Progress.parse(new String(buf, StandardCharsets.UTF_8));
      return lines.isEmpty() ? null : lines.getLast();
    } catch (IOException e) {
      return null; // not written yet
    }
  }
}
