package dev.carpoperator.agent.actions;

import dev.carpoperator.agent.config.ActionsConfig;
import java.time.Duration;
import java.util.List;

/**
 * What to run on each trigger, independent of where it was declared (standalone YAML or
 * FirewallCluster.spec.actions).
 *
 * @param vhid the vhid whose state drives the actions; null: all vhids, MASTER while any is MASTER
 * @param handoverDelay how long onMaster waits when taking over from a master that is still running
 */
public record ActionPlan(
    List<Action> onStartup,
    List<Action> onMaster,
    List<Action> onBackup,
    Integer vhid,
    Duration handoverDelay) {
  public static final ActionPlan NONE =
      new ActionPlan(List.of(), List.of(), List.of(), null, Duration.ZERO);

  public ActionPlan {
    onStartup = List.copyOf(onStartup);
    onMaster = List.copyOf(onMaster);
    onBackup = List.copyOf(onBackup);
  }

  public boolean isEmpty() {
    return onStartup.isEmpty() && onMaster.isEmpty() && onBackup.isEmpty();
  }

  /** Kubernetes mode: FirewallCluster.spec.actions (validated by the API server's schema). */
  public static ActionPlan fromCrd(
      dev.carpoperator.api.v1alpha1.ActionsSpec spec, Duration handoverDelay) {
    if (spec == null) return NONE;
    return new ActionPlan(
        crd(spec.getOnStartup()),
        crd(spec.getOnMaster()),
        crd(spec.getOnBackup()),
        null,
        handoverDelay);
  }

  private static List<Action> crd(List<dev.carpoperator.api.v1alpha1.StateAction> list) {
    return list == null ? List.of() : list.stream().map(ActionPlan::crdAction).toList();
  }

  static Action crdAction(dev.carpoperator.api.v1alpha1.StateAction a) {
    if (a.getLink() != null)
      return new Action.Link(a.getLink().getName(), "up".equals(a.getLink().getState()));
    if (a.getAddress() != null)
      return new Action.Address(
          a.getAddress().getInterfaceName(),
          a.getAddress().getAddress(),
          !Boolean.FALSE.equals(a.getAddress().getPresent()));
    var r = a.getRoute();
    return new Action.Route(
        r.getDestination(),
        r.getVia(),
        r.getInterfaceName(),
        !Boolean.FALSE.equals(r.getPresent()));
  }

  /** From a validated standalone config. */
  public static ActionPlan of(ActionsConfig c) {
    return new ActionPlan(
        actions(c.onStartup()),
        actions(c.onMaster()),
        actions(c.onBackup()),
        c.vhid(),
        Duration.ofMillis(c.handoverDelayMillis()));
  }

  private static List<Action> actions(List<ActionsConfig.ActionConfig> list) {
    return list.stream().map(ActionPlan::action).toList();
  }

  static Action action(ActionsConfig.ActionConfig a) {
    if (a.link() != null) return new Action.Link(a.link().name(), "up".equals(a.link().state()));
    if (a.address() != null)
      return new Action.Address(
          a.address().interfaceName(), a.address().address(), a.address().present());
    if (a.route() != null)
      return new Action.Route(
          a.route().destination(), a.route().via(), a.route().interfaceName(), a.route().present());
    return new Action.Command(a.command().run(), Duration.ofSeconds(a.command().timeoutSeconds()));
  }
}
