package dev.carpoperator.bench.torture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpoperator.bench.torture.ChaosDriver.Action;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The chaos's choices without a lab: old seeds keep their steps, the new kinds' rules hold. */
class ChaosChoicesTest {

  /**
   * What {@code ChaosDriver} drew before the new kinds, copied from it: the pause, recover or not,
   * which node, which of the four actions. With the old kinds and the default second-fault chance
   * the choices must be these, step for step.
   */
  @Test
  void theOldKindsDrawWhatTheDriverDrewBefore() {
    for (long seed : new long[] {8, 769352378, 1, 42}) {
      TortureOptions o = TortureOptions.of(seed, Duration.ofMinutes(2)).withFaults(Action.CLASSIC);
      assertThat(simulate(new ChaosChoices(o), o, 300)).isEqualTo(oldDriver(seed, o, 300));
    }
  }

  @Test
  void everyKindIsTheDefaultAndDrawsOtherSteps() {
    TortureOptions o = TortureOptions.of(8, Duration.ofMinutes(2));
    assertThat(o.faults()).isEqualTo(List.of(Action.values()));
    assertThat(o.secondFaultChance()).isEqualTo(0.5);
    List<String> steps = simulate(new ChaosChoices(o), o, 400);
    for (Action a : Action.values())
      assertThat(steps).as(a.label()).anyMatch(s -> s.contains(" " + a.label() + " "));
  }

  @Test
  void onlyALossySyncLinkLeavesTheNodeInTheElection() {
    // a cut sync link demotes the node (the agent's sync-link demotion): the best other node is
    // the expected master; loss on it does not
    assertThat(Action.SYNC_CUT.leavesElection()).isTrue();
    assertThat(Action.SYNC_IMPAIR.leavesElection()).isFalse();
    assertThat(master(Map.of("fw1", Action.SYNC_IMPAIR))).isEqualTo("fw1");
    assertThat(master(Map.of("fw1", Action.SYNC_CUT))).isEqualTo("fw2");
    assertThat(master(Map.of("fw1", Action.FREEZE, "fw2", Action.LINK_CUT))).isEqualTo("fw3");
  }

  @Test
  void theSecondFaultChanceRulesTheSecondDisturbanceWithinMaxDisturbed() {
    Map<String, Action> one = Map.of("fw1", Action.KILL);
    Map<String, Action> two = Map.of("fw1", Action.KILL, "fw2", Action.FREEZE);
    TortureOptions always = TortureOptions.of(5, Duration.ofMinutes(1)).withSecondFaultChance(1);
    TortureOptions never = TortureOptions.of(5, Duration.ofMinutes(1)).withSecondFaultChance(0);
    ChaosChoices a = new ChaosChoices(always);
    ChaosChoices n = new ChaosChoices(never);
    for (int i = 0; i < 100; i++) {
      assertThat(a.recover(one)).isFalse();
      assertThat(a.recover(two)).isTrue(); // maxDisturbed 2
      assertThat(n.recover(one)).isTrue();
    }
    ChaosChoices often =
        new ChaosChoices(TortureOptions.of(5, Duration.ofMinutes(1)).withSecondFaultChance(0.8));
    int second = 0;
    for (int i = 0; i < 2000; i++) if (!often.recover(one)) second++;
    assertThat(second).isBetween(1500, 1700);
  }

  @Test
  void aLinkCutTakesTheLanOrTheWanSide() {
    ChaosChoices c = new ChaosChoices(TortureOptions.of(11, Duration.ofMinutes(1)));
    List<String> sides = new ArrayList<>();
    for (int i = 0; i < 50; i++) sides.add(c.linkSide());
    assertThat(sides).contains(TortureLab.LAN_IF, TortureLab.WAN_IF).doesNotContain("sync0");
  }

  @Test
  void faultKindsParse() {
    assertThat(Action.parseList("all")).isEqualTo(Action.ALL);
    assertThat(Action.parseList(" Kill, sync-cut ,freeze,"))
        .containsExactly(Action.KILL, Action.SYNC_CUT, Action.FREEZE);
    assertThat(Action.parseList("sync_cut,link_cut,sync_impair,freeze"))
        .containsExactly(Action.SYNC_CUT, Action.LINK_CUT, Action.SYNC_IMPAIR, Action.FREEZE);
    assertThat(Action.parseList("kill,kill")).containsExactly(Action.KILL);
    assertThatThrownBy(() -> Action.parseList("kill,clock_step"))
        .hasMessageContaining("unknown fault kind clock_step");
    assertThatThrownBy(() -> Action.parseList(" , ")).hasMessageContaining("no fault kind");
    assertThat(TortureMain.faultsArg(Action.ALL)).isEmpty();
    assertThat(TortureMain.faultsArg(List.of(Action.FREEZE, Action.LINK_CUT)))
        .isEqualTo(" --faults freeze,link_cut");
  }

  @Test
  void optionsRejectNoKindATwiceKindAndAChanceOutside0To1() {
    TortureOptions o = TortureOptions.of(1, Duration.ofMinutes(1));
    assertThatThrownBy(() -> o.withFaults(List.of())).hasMessageContaining("no fault kind");
    assertThatThrownBy(() -> o.withFaults(List.of(Action.KILL, Action.KILL)))
        .hasMessageContaining("twice");
    assertThatThrownBy(() -> o.withSecondFaultChance(1.5)).hasMessageContaining("0-1");
    assertThatThrownBy(() -> o.withSecondFaultChance(Double.NaN)).hasMessageContaining("0-1");
  }

  // ---- a driver without a lab: the master is the first node in the election

  private static List<String> simulate(ChaosChoices c, TortureOptions o, int steps) {
    List<String> out = new ArrayList<>();
    Map<String, Action> disturbed = new LinkedHashMap<>();
    for (int i = 0; i < steps; i++) {
      long pause = c.pauseMillis();
      if (c.recover(disturbed)) {
        String n = c.recovered(new ArrayList<>(disturbed.keySet()));
        disturbed.remove(n);
        out.add(pause + " recover " + n);
        continue;
      }
      String master = master(disturbed);
      List<String> healthy =
          TortureLab.NODES.stream().filter(n -> !disturbed.containsKey(n)).toList();
      String node = c.node(master, healthy);
      Action a = c.action();
      String side = a == Action.LINK_CUT ? " " + c.linkSide() : "";
      disturbed.put(node, a);
      out.add(pause + " " + a.label() + " " + node + side);
    }
    return out;
  }

  private static String master(Map<String, Action> disturbed) {
    return TortureLab.NODES.stream()
        .filter(n -> !disturbed.containsKey(n) || !disturbed.get(n).leavesElection())
        .findFirst()
        .orElseThrow();
  }

  /** The driver's draws before the new kinds (its code then, without the lab). */
  private static List<String> oldDriver(long seed, TortureOptions o, int steps) {
    Random rng = new Random(seed);
    List<String> out = new ArrayList<>();
    Map<String, Action> disturbed = new LinkedHashMap<>();
    Action[] old = {Action.KILL, Action.STOP, Action.CUT, Action.CRASH};
    for (int i = 0; i < steps; i++) {
      long min = o.minPause().toMillis();
      long max = o.maxPause().toMillis();
      long pause = min + (max > min ? (long) (rng.nextDouble() * (max - min)) : 0);
      boolean recover =
          !disturbed.isEmpty() && (disturbed.size() >= o.maxDisturbed() || rng.nextBoolean());
      if (recover) {
        List<String> nodes = new ArrayList<>(disturbed.keySet());
        String n = nodes.get(rng.nextInt(nodes.size()));
        disturbed.remove(n);
        out.add(pause + " recover " + n);
        continue;
      }
      List<String> healthy =
          TortureLab.NODES.stream().filter(n -> !disturbed.containsKey(n)).toList();
      String master = healthy.getFirst();
      String node = rng.nextBoolean() ? master : healthy.get(rng.nextInt(healthy.size()));
      Action action = old[rng.nextInt(old.length)];
      disturbed.put(node, action);
      out.add(pause + " " + action.label() + " " + node);
    }
    return out;
  }
}
