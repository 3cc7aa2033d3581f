package dev.carpoperator.agent.carp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.carp.DemotionCounters.Reason;
import java.util.List;
import org.junit.jupiter.api.Test;

class DemotionCountersTest {
  final DemotionCounters d = new DemotionCounters();

  @Test
  void announceOnlyWhenGroupGoesFromZeroToPositive() {
    assertThat(d.adjust("carp", Reason.STARTUP, 128).announce()).isTrue();
    assertThat(d.adjust("carp", Reason.LINK_DOWN, 1).announce())
        .isFalse(); // group already positive
    assertThat(d.adjust("carp", Reason.STARTUP, -128).announce()).isFalse();
    assertThat(d.adjust("carp", Reason.LINK_DOWN, -1).groupAfter()).isZero();
    assertThat(d.adjust("carp", Reason.ADMIN, 1).announce()).isTrue();
    assertThat(d.adjust("carp", Reason.ADMIN, 0).announce()).isFalse();
    assertThat(d.adjust("other", Reason.SYNC_BULK, 32).announce()).isTrue(); // per group
  }

  @Test
  void neverBelowZeroPerReason() {
    d.adjust("carp", Reason.ADMIN, 2);
    DemotionCounters.Change c = d.adjust("carp", Reason.LINK_DOWN, -5);
    assertThat(c.counterAfter()).isZero();
    assertThat(d.groupTotal("carp"))
        .isEqualTo(2); // a negative on one reason does not eat another's
    assertThat(d.adjust("carp", Reason.ADMIN, -10).counterAfter()).isZero();
    assertThat(d.adjust("carp", Reason.ADMIN, Integer.MAX_VALUE).counterAfter())
        .isEqualTo(Integer.MAX_VALUE);
    assertThat(d.adjust("carp", Reason.ADMIN, 1).counterAfter()).isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void advertisedIsSumOverGroupsIncludingCarpCappedAt255() {
    assertThat(d.advertised(List.of())).isZero();
    d.adjust("carp", Reason.LINK_DOWN, 1);
    d.adjust("dmz", Reason.ADMIN, 10);
    d.adjust("lan", Reason.ADMIN, 100);
    assertThat(d.advertised(List.of())).isEqualTo(1);
    assertThat(d.advertised(List.of("dmz"))).isEqualTo(11);
    assertThat(d.advertised(List.of("carp", "dmz", "lan"))).isEqualTo(111);
    d.adjust("lan", Reason.SYNC_BULK, 200);
    assertThat(d.advertised(List.of("lan"))).isEqualTo(255);
    assertThat(d.set("lan", Reason.SYNC_BULK, 0).groupAfter()).isEqualTo(100);
    assertThat(d.counter("lan", Reason.ADMIN)).isEqualTo(100);
    assertThat(d.counter("nope", Reason.ADMIN)).isZero();
  }
}
