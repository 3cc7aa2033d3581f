package dev.carpoperator.bench.torture;

import dev.carpoperator.testing.traffic.StreamWatch;
import dev.carpoperator.testing.traffic.TcpStreamsMain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sessions through the VIPs: one client opened before the chaos and running to the end, plus
 * "waves", clients opened during the chaos (after a node was disturbed) that run for a few steps:
 * their connections start while a node is away, so that node has never seen them when it comes
 * back. At most {@code maxWaves} run at once; starting another stops the oldest and checks that all
 * its bytes came back.
 */
final class Traffic {
  private final TortureLab lab;
  private final Duration stallLimit;
  private final int maxWaves;
  private final List<StreamWatch> running = new ArrayList<>();
  private final List<StreamWatch> finished = new ArrayList<>();
  private int waves;

  Traffic(TortureLab lab, Duration stallLimit, int maxWaves) {
    this.lab = lab;
    this.stallLimit = stallLimit;
    this.maxWaves = maxWaves;
  }

  synchronized StreamWatch start(String label, int connections) {
    StreamWatch w =
        new StreamWatch(label, lab.startClient(label, connections), connections, stallLimit);
    running.add(w);
    return w;
  }

  /**
   * A new wave of {@code connections} sessions; the oldest wave is stopped first when {@code
   * maxWaves} run.
   */
  void startWave(int connections) {
    StreamWatch oldest = null;
    synchronized (this) {
      List<StreamWatch> wavesRunning =
          running.stream().filter(w -> w.label().startsWith("wave")).toList();
      if (wavesRunning.size() >= maxWaves) {
        oldest = wavesRunning.getFirst();
        running.remove(oldest);
      }
    }
    if (oldest != null) {
      oldest.stop();
      synchronized (this) {
        finished.add(oldest);
      }
    }
    int n;
    synchronized (this) {
      n = ++waves;
    }
    start("wave" + n, connections);
  }

  synchronized List<StreamWatch> running() {
    return List.copyOf(running);
  }

  void poll() {
    running().forEach(StreamWatch::poll);
  }

  /** The latest line of each running client, as a mark to measure progress from. */
  Map<StreamWatch, TcpStreamsMain.Progress> mark() {
    Map<StreamWatch, TcpStreamsMain.Progress> m = new LinkedHashMap<>();
    for (StreamWatch w : running()) m.put(w, w.poll());
    return m;
  }

  /**
   * Every running session verified more than {@code bytes} since the mark (clients not in the mark:
   * since their start).
   */
  boolean flowingSince(Map<StreamWatch, TcpStreamsMain.Progress> mark, long bytes) {
    for (StreamWatch w : running()) {
      w.poll();
      if (!w.flowingSince(mark.get(w), bytes)) return false;
    }
    return true;
  }

  boolean anyFailed() {
    return running().stream().anyMatch(StreamWatch::failed);
  }

  /** Stops every client and checks their summaries. */
  void stopAll() {
    for (StreamWatch w : running()) {
      w.stop();
      synchronized (this) {
        running.remove(w);
        finished.add(w);
      }
    }
  }

  synchronized Map<String, String> interrupted() {
    Map<String, String> out = new LinkedHashMap<>();
    for (StreamWatch w : finished) out.putAll(w.interrupted());
    for (StreamWatch w : running) out.putAll(w.interrupted());
    return out;
  }

  synchronized int sessions() {
    int n = 0;
    for (StreamWatch w : finished) n += w.connections();
    for (StreamWatch w : running) n += w.connections();
    return n;
  }

  /** A new step starts: stalls are counted from now for {@link #stepStallMillis}. */
  void resetStepStall() {
    running().forEach(StreamWatch::resetStepStall);
  }

  /**
   * The longest stall of a running session since {@link #resetStepStall} (sessions that began since
   * count from their first byte).
   */
  long stepStallMillis() {
    long m = 0;
    for (StreamWatch w : running()) m = Math.max(m, w.stepStallMillis());
    return m;
  }

  synchronized long longestStallMillis() {
    long m = 0;
    for (StreamWatch w : finished) m = Math.max(m, w.longestStallMillis());
    for (StreamWatch w : running) m = Math.max(m, w.longestStallMillis());
    return m;
  }
}
