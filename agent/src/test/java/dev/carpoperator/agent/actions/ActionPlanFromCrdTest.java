package dev.carpoperator.agent.actions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpoperator.api.v1alpha1.ActionsSpec;
import dev.carpoperator.api.v1alpha1.StateAction;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActionPlanFromCrdTest {
  @Test
  void crdActionsMapOneToOne() {
    StateAction addr = new StateAction();
    addr.setAddress(new StateAction.AddressAction());
    addr.getAddress().setInterfaceName("br0");
    addr.getAddress().setAddress("192.0.2.250/24");
    StateAction route = new StateAction();
    route.setRoute(new StateAction.RouteAction());
    route.getRoute().setDestination("0.0.0.0/0");
    route.getRoute().setVia("192.0.2.254");
    route.getRoute().setPresent(false);
    ActionsSpec spec = new ActionsSpec();
    spec.setOnStartup(List.of(StateAction.link("br0", false)));
    spec.setOnMaster(List.of(StateAction.link("br0", true), addr));
    spec.setOnBackup(List.of(route));

    ActionPlan plan = ActionPlan.fromCrd(spec, Duration.ofMillis(500));
    assertThat(plan.onStartup()).containsExactly(new Action.Link("br0", false));
    assertThat(plan.onMaster())
        .containsExactly(
            new Action.Link("br0", true), new Action.Address("br0", "192.0.2.250/24", true));
    assertThat(plan.onBackup())
        .containsExactly(new Action.Route("0.0.0.0/0", "192.0.2.254", null, false));
    assertThat(plan.vhid()).isNull();
    assertThat(ActionPlan.fromCrd(null, Duration.ZERO).isEmpty()).isTrue();
  }
}
