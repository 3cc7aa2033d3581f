package dev.carpoperator.agent.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VhidDiffTest {
  static VhostSpec spec(String ifName, int vhid, String prefix) {
    return new VhostSpec(ifName, vhid, 1, 100, false, "pw", List.of(prefix));
  }

  static Map<String, VhostSpec> running(VhostSpec... specs) {
    Map<String, VhostSpec> m = new LinkedHashMap<>();
    for (VhostSpec s : specs) m.put(VhidDiff.key(s), s);
    return m;
  }

  @Test
  void unchangedVhidsAreLeftAlone() {
    VhostSpec a = spec("eth0", 1, "192.0.2.10/24");
    VhostSpec b = spec("eth0", 2, "192.0.2.11/24");
    VhidDiff d = VhidDiff.of(running(a, b), List.of(a, b));
    assertThat(d.isEmpty()).isTrue();
  }

  @Test
  void goneVhidsStopNewOnesStartChangedOnesDoBoth() {
    VhostSpec a = spec("eth0", 1, "192.0.2.10/24");
    VhostSpec b = spec("eth0", 2, "192.0.2.11/24");
    VhostSpec bChanged = spec("eth0", 2, "192.0.2.12/24");
    VhostSpec c = spec("eth1", 1, "198.51.100.10/24");
    VhidDiff d = VhidDiff.of(running(a, b), List.of(c, bChanged));
    assertThat(d.stop()).containsExactly("eth0/1", "eth0/2");
    assertThat(d.start()).containsExactly(c, bChanged);
  }

  @Test
  void theSameVhidOnAnotherInterfaceIsAnotherVhid() {
    VhostSpec a = spec("eth0", 1, "192.0.2.10/24");
    VhidDiff d = VhidDiff.of(running(a), List.of(a, spec("eth1", 1, "192.0.2.10/24")));
    assertThat(d.stop()).isEmpty();
    assertThat(d.start()).extracting(VhostSpec::interfaceName).containsExactly("eth1");
  }

  @Test
  void ofDuplicateKeysTheLastOneCounts() {
    VhostSpec first = spec("eth0", 1, "192.0.2.10/24");
    VhostSpec last = spec("eth0", 1, "192.0.2.20/24");
    VhidDiff d = VhidDiff.of(running(), List.of(first, last));
    assertThat(d.start()).containsExactly(last);
    assertThat(VhidDiff.of(running(last), List.of(first, last)).isEmpty()).isTrue();
  }

  @Test
  void keysReadInterfaceSlashVhid() {
    assertThat(VhidDiff.key("eth0", 7)).isEqualTo("eth0/7");
  }
}
