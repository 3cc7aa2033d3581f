package dev.carpoperator.agent.actions;

/** Carries out one action; throws when it failed. Tests use fakes. */
@FunctionalInterface
public interface ActionExecutor {
  void execute(Action action, ActionContext context) throws Exception;
}
