package dev.carpoperator.bench.sync;

import java.util.ArrayList;
import java.util.List;

/**
 * Threads that only spin, at normal priority, for as long as the bench runs: a node whose other
 * work keeps its cores busy (pods on a Kubernetes node), against which the sync's real-time
 * priority ({@code realtimePriority}) is meant to help. {@code sync.busyThreads}; 0, the default,
 * starts none.
 */
final class BusyNeighbours implements AutoCloseable {
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stopped;

  @SuppressWarnings("unused")
  private volatile long sink; // the spinning writes here, so the loop is not optimised away

  BusyNeighbours(int count) {
    for (int i = 0; i < count; i++)
      threads.add(Thread.ofPlatform().daemon().name("busy-neighbour-" + i).start(this::spin));
  }

  private void spin() {
    long n = 0;
    while (!stopped) sink = ++n;
  }

  @Override
  public void close() throws InterruptedException {
    stopped = true;
    for (Thread t : threads) t.join();
  }
}
