package dev.carpoperator.agent.carp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Deterministic discrete-event simulation: 2..6 nodes share one wire for one vhid. Every advert is
 * encoded with the real codec and HMAC, delivered to every node (including the sender, to exercise
 * loop detection) after a small random delay, and validated by the receiver's {@link
 * AdvertValidator}. During a warm-up there is random loss and nodes start, crash, restart, shut
 * down cleanly, lose their link and change demotion. Then the network is quiet and loss-free; after
 * it settles there must be exactly one MASTER among the live nodes, it must have the lowest
 * demotion, and when the best node (lowest demotion, then lowest advskew) has preempt on, it must
 * be that node.
 */
class CarpSimulationTest {
  static final long MS = 1_000_000L;
  static final long S = 1_000 * MS;
  static final int VHID = 1;
  static final CarpHmac HMAC =
      CarpHmac.of("sim", VHID, CarpHmacTest.addrs("10.0.0.100", "2001:db8::100"));

  @Test
  void fiveHundredSeededScenarios() {
    long base = new Random().nextLong();
    for (int i = 0; i < 500; i++) {
      long seed = base + i;
      new Scenario(seed).run();
    }
  }

  /** Re-run one scenario by pasting a failing seed here. */
  @Test
  void fixedSeeds() {
    for (long seed : new long[] {1, 2, 3, 42, 4711}) {
      new Scenario(seed).run();
    }
  }

  record Event(long time, long seq, int node, Runnable action) {}

  static final class Node {
    final int id;
    final int advskew;
    final boolean preempt;
    int demotion;
    boolean started; // administratively started and not crashed
    boolean linkUp = true;
    CarpStateMachine machine;
    AdvertValidator validator;
    int incarnation;
    long lastChange;

    Node(int id, int advskew, boolean preempt) {
      this.id = id;
      this.advskew = advskew;
      this.preempt = preempt;
    }

    boolean live() {
      return started && linkUp;
    }
  }

  static final class Scenario {
    final long seed;
    final Random rnd;
    final PriorityQueue<Event> queue =
        new PriorityQueue<>(Comparator.comparingLong(Event::time).thenComparingLong(Event::seq));
    final List<String> log = new ArrayList<>();
    final List<Node> nodes = new ArrayList<>();
    final RejectionCounters counters = new RejectionCounters();
    final boolean fast;
    final int advbase;
    final long warmup;
    final long settle;
    final double loss;
    long seq;
    long now;

    Scenario(long seed) {
      this.seed = seed;
      this.rnd = new Random(seed);
      this.fast = rnd.nextInt(5) == 0;
      this.advbase = fast ? 0 : 1 + (rnd.nextInt(4) == 0 ? 1 : 0);
      this.warmup = fast ? 3 * S : 40 * S;
      this.settle = fast ? 5 * S : 40 * S;
      this.loss = rnd.nextDouble() * 0.3;
    }

    void run() {
      try {
        setUp();
        while (!queue.isEmpty() && queue.peek().time() <= warmup + settle) {
          Event e = queue.poll();
          now = e.time();
          e.action().run();
        }
        now = warmup + settle;
        check();
      } catch (Throwable t) {
        int from = Math.max(0, log.size() - 80);
        throw new AssertionError(
            "scenario seed "
                + seed
                + " failed (fast="
                + fast
                + ", advbase="
                + advbase
                + ", loss="
                + loss
                + ")\n"
                + String.join("\n", log.subList(from, log.size())),
            t);
      }
    }

    void setUp() {
      int n = 2 + rnd.nextInt(5);
      List<Integer> skews = new ArrayList<>();
      int maxSkew = fast ? 60 : 254;
      while (skews.size() < n) {
        int s = (fast ? 1 : 0) + rnd.nextInt(maxSkew);
        if (!skews.contains(s)) {
          skews.add(s);
        }
      }
      long third = warmup / 3;
      for (int i = 0; i < n; i++) {
        Node node = new Node(i, skews.get(i), rnd.nextBoolean());
        nodes.add(node);
        int[] demotions = {0, 0, 0, 0, 1, 2, 32, 128};
        node.demotion = demotions[rnd.nextInt(demotions.length)];
        long start = (long) (rnd.nextDouble() * third);
        at(start, i, () -> start(node));
        if (rnd.nextInt(3) == 0) { // crash, and usually come back
          long crash = start + (long) (rnd.nextDouble() * (warmup - start));
          at(crash, i, () -> crash(node));
          if (i == 0 || rnd.nextInt(4) != 0) {
            at(crash + (long) (rnd.nextDouble() * (warmup - crash)), i, () -> start(node));
          }
        }
        if (rnd.nextInt(5) == 0) { // clean shutdown with bow-out, then back
          long down = start + (long) (rnd.nextDouble() * (warmup - start));
          at(down, i, () -> shutdown(node));
          at(down + (long) (rnd.nextDouble() * (warmup - down)), i, () -> start(node));
        }
        if (rnd.nextInt(5) == 0) { // link flap
          long down = (long) (rnd.nextDouble() * warmup);
          at(down, i, () -> link(node, false));
          at(down + (long) (rnd.nextDouble() * (warmup - down)), i, () -> link(node, true));
        }
        for (int k = rnd.nextInt(3); k > 0; k--) { // demotion changes during warm-up
          int d = demotions[rnd.nextInt(demotions.length)];
          at((long) (rnd.nextDouble() * warmup), i, () -> demote(node, d));
        }
      }
    }

    void at(long time, int node, Runnable r) {
      queue.add(new Event(time, seq++, node, r));
    }

    void start(Node node) {
      if (node.started) {
        return;
      }
      node.started = true;
      node.incarnation++;
      long cookie = ReplayCookie.draw(rnd);
      VhostConfig cfg =
          fast
              ? VhostConfig.fast(VHID, node.advskew, node.preempt)
              : VhostConfig.of(VHID, advbase, node.advskew, node.preempt);
      node.machine = new CarpStateMachine(cfg, cookie);
      node.validator =
          new AdvertValidator(v -> v == VHID ? new VhostKeys(HMAC, cookie) : null, counters);
      log(
          "start skew=" + node.advskew + " preempt=" + node.preempt + " dem=" + node.demotion,
          node);
      apply(node, node.machine.demotionChanged(now, node.demotion, false));
      apply(node, node.linkUp ? node.machine.start(now) : node.machine.linkDown(now));
      if (!node.linkUp) {
        node.machine.start(now); // remembers admin-up; runs when the link returns
      }
    }

    void crash(Node node) {
      if (!node.started) {
        return;
      }
      log("crash", node);
      node.started = false;
      node.machine = null; // silent: no bow-out, timers gone
      node.incarnation++;
    }

    void shutdown(Node node) {
      if (!node.started) {
        return;
      }
      log("shutdown", node);
      apply(node, node.machine.shutdown(now));
      node.started = false;
      node.machine = null;
      node.incarnation++;
    }

    void link(Node node, boolean up) {
      node.linkUp = up;
      log(up ? "link up" : "link down", node);
      if (node.machine != null) {
        apply(node, up ? node.machine.linkUp(now) : node.machine.linkDown(now));
      }
    }

    void demote(Node node, int d) {
      boolean announce = node.demotion == 0 && d > 0;
      node.demotion = d;
      log("demotion " + d, node);
      if (node.machine != null) {
        apply(node, node.machine.demotionChanged(now, d, announce));
      }
    }

    void apply(Node node, List<CarpEffect> actions) {
      for (CarpEffect a : actions) {
        switch (a) {
          case CarpEffect.SendAdvert s -> broadcast(node, s.encode(HMAC), s);
          case CarpEffect.StateChanged c -> {
            node.lastChange = now;
            log(c.from() + "->" + c.to() + " " + c.reason().code(), node);
          }
          case CarpEffect.TakeOverAddresses t -> {}
          case CarpEffect.ReleaseAddresses r -> {}
          case CarpEffect.Reannounce r -> {}
          case CarpEffect.Reclaim r -> {}
        }
      }
      scheduleTimer(node);
    }

    void scheduleTimer(Node node) {
      if (node.machine == null) {
        return;
      }
      node.machine
          .nextDeadline()
          .ifPresent(
              t -> {
                int inc = node.incarnation;
                CarpStateMachine m = node.machine;
                at(
                    t,
                    node.id,
                    () -> {
                      // Stale wake-ups (a newer deadline was scheduled, or the node restarted) are
                      // harmless anyway.
                      if (node.machine == m
                          && node.incarnation == inc
                          && m.nextDeadline().orElse(Long.MIN_VALUE) == t) {
                        apply(node, m.tick(now));
                      }
                    });
              });
    }

    void broadcast(Node from, byte[] wire, CarpEffect.SendAdvert s) {
      for (Node to : nodes) {
        boolean lost = now < warmup && rnd.nextDouble() < loss;
        if (lost) {
          continue;
        }
        long delay = fast ? 50_000 + rnd.nextInt(100_000) : MS + rnd.nextInt(1_000_000);
        byte[] copy = wire.clone();
        at(now + delay, to.id, () -> receive(to, copy));
      }
    }

    void receive(Node to, byte[] wire) {
      if (to.machine == null || !to.linkUp) {
        return;
      }
      ValidationResult r = to.validator.validate(new InboundPacket(255, null, null, wire));
      switch (r) {
        case ValidationResult.Accepted a -> apply(to, to.machine.advertReceived(now, a.advert()));
        case ValidationResult.Rejected rej -> assertThat(rej.reason()).isEqualTo(RejectReason.LOOP);
      }
    }

    void log(String what, Node node) {
      log.add(String.format("%9.4fs n%d %s", now / 1e9, node.id, what));
    }

    void check() {
      List<Node> live = nodes.stream().filter(Node::live).toList();
      assertThat(live).as("some node is live").isNotEmpty();
      List<Node> masters =
          live.stream().filter(n -> n.machine.state() == CarpState.MASTER).toList();
      assertThat(masters).as("exactly one MASTER").hasSize(1);
      assertThat(live).allSatisfy(n -> assertThat(n.machine.state()).isNotEqualTo(CarpState.INIT));
      for (Node n : nodes) {
        if (!n.live() && n.machine != null) {
          assertThat(n.machine.state()).isEqualTo(CarpState.INIT);
        }
      }
      Node master = masters.getFirst();
      int minDem = live.stream().mapToInt(n -> Math.min(n.demotion, 255)).min().orElseThrow();
      assertThat(master.demotion).as("master has the lowest demotion").isEqualTo(minDem);
      Node best =
          live.stream()
              .filter(n -> n.demotion == minDem)
              .min(Comparator.comparingInt(n -> n.advskew))
              .orElseThrow();
      if (best.preempt) {
        assertThat(master.id).as("best node with preempt is master").isEqualTo(best.id);
      }
      // Settled: nobody changed state during the second half of the quiet period.
      for (Node n : live) {
        assertThat(n.lastChange).as("n%d stable", n.id).isLessThan(warmup + settle / 2);
      }
      assertThat(counters.rejected(RejectReason.LOOP)).isPositive();
      for (RejectReason reason : RejectReason.values()) {
        if (reason != RejectReason.LOOP) {
          assertThat(counters.rejected(reason)).isZero();
        }
      }
    }
  }
}
