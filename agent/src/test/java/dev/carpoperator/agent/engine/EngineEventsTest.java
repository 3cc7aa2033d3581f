package dev.carpoperator.agent.engine;

import static dev.carpoperator.agent.engine.EngineFakes.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.agent.carp.CarpEffect;
import dev.carpoperator.agent.carp.CarpState;
import dev.carpoperator.agent.carp.RejectionCounters;
import dev.carpoperator.agent.carp.TransitionReason;
import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.NodeAddresses;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class EngineEventsTest {
  final AgentMetrics metrics = new AgentMetrics(Map.of());
  final EngineEvents events = new EngineEvents("fw1", metrics);
  final List<String> heard = new CopyOnWriteArrayList<>();
  final CarpLink link = new CarpLink("eth0", new RejectionCounters());
  final CarpVhost v =
      new CarpVhost(
          link, new VhostSpec("eth0", 3, 1, 50, false, "pw", List.of("192.0.2.10/24")), true, 1);

  final EngineListener failing =
      new EngineListener() {
        @Override
        public void beforeFirstAdvert() {
          throw new IllegalStateException("broken listener");
        }

        @Override
        public void stateChanged(StateChange change) {
          throw new IllegalStateException("broken listener");
        }

        @Override
        public void vhidRefused(String interfaceName, int vhid, String reason, String message) {
          throw new IllegalStateException("broken listener");
        }
      };

  final EngineListener recording =
      new EngineListener() {
        @Override
        public void beforeFirstAdvert() {
          heard.add("before");
        }

        @Override
        public void stateChanged(StateChange c) {
          heard.add(
              c.node()
                  + " "
                  + c.interfaceName()
                  + "/"
                  + c.vhid()
                  + " "
                  + c.from()
                  + "->"
                  + c.to()
                  + " "
                  + c.reason()
                  + " skew "
                  + c.advskew());
        }

        @Override
        public void vhidRefused(String interfaceName, int vhid, String reason, String message) {
          heard.add(interfaceName + "/" + vhid + " " + reason + ": " + message);
        }
      };

  {
    events.add(failing); // a failing listener never keeps the others from hearing
    events.add(recording);
  }

  @Test
  void stateChangesGoToMetricsAndListeners() {
    events.stateChanged(
        v,
        new CarpEffect.StateChanged(
            3, CarpState.BACKUP, CarpState.MASTER, TransitionReason.MASTER_DOWN_TIMEOUT));
    assertThat(metrics.vhidState.labelValues("eth0", "3").get()).isEqualTo(2);
    assertThat(
            metrics
                .transitions
                .labelValues("eth0", "3", "BACKUP", "MASTER", "master-down-timeout")
                .get())
        .isEqualTo(1);
    assertThat(heard).containsExactly("fw1 eth0/3 BACKUP->MASTER master-down-timeout skew 50");
  }

  @Test
  void beforeFirstAdvertReachesEveryListener() {
    events.beforeFirstAdvert();
    assertThat(heard).containsExactly("before");
  }

  @Test
  void aRefusalSaysWhichAddressIsTheNodesOwn() {
    var own = new NodeAddresses.HostAddress("eth0", ip("192.0.2.10"), 24);
    events.refused(v.spec, List.of(new NodeAddresses.Conflict("192.0.2.10/24", own)));
    assertThat(heard)
        .singleElement()
        .asString()
        .startsWith("eth0/3 AddressIsNodeAddress: vhid 3 on eth0 is not run: 192.0.2.10/24")
        .contains("ip addr del");
  }

  @Test
  void rejectionWarningsNeverThrow() {
    byte[] f = CarpReceivePipelineTest.advert(CarpReceivePipelineTest.PEER, 5);
    var p =
        (dev.carpoperator.agent.net.FrameParser.Packet)
            dev.carpoperator.agent.net.FrameParser.parse(f);
    for (int i = 0; i < 3; i++)
      events.advertRejected(
          link,
          new CarpReceivePipeline.Rejected(p, dev.carpoperator.agent.carp.RejectReason.BAD_AUTH));
  }
}
