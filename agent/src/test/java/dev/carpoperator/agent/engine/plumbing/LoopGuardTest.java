package dev.carpoperator.agent.engine.plumbing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LoopGuardTest {
  final List<RuntimeException> logged = new CopyOnWriteArrayList<>();
  final List<String> fatal = new CopyOnWriteArrayList<>();
  final LoopGuard guard = new LoopGuard("the test loop", logged::add, (w, e) -> fatal.add(w));

  @Test
  void anExceptionIsHandedOverAndTheCallerGoesOn() {
    RuntimeException boom = new IllegalStateException("boom");
    guard.run(
        () -> {
          throw boom;
        });
    assertThat(logged).containsExactly(boom);
    assertThat(fatal).isEmpty();
  }

  @Test
  void anErrorEndsTheAgentAndIsRethrown() {
    assertThatThrownBy(
            () ->
                guard.run(
                    () -> {
                      throw new StackOverflowError();
                    }))
        .isInstanceOf(StackOverflowError.class);
    assertThat(fatal).containsExactly("the test loop");
    assertThat(logged).isEmpty();
  }

  @Test
  void postedTasksRunGuardedOnTheLoopAndNotOnceItIsShutDown() throws Exception {
    ExecutorService loop = Executors.newSingleThreadExecutor();
    List<String> ran = new CopyOnWriteArrayList<>();
    assertThat(
            guard.post(
                loop,
                () -> {
                  ran.add(Thread.currentThread().getName());
                  throw new IllegalArgumentException("in the task");
                }))
        .isTrue();
    loop.shutdown();
    assertThat(loop.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    assertThat(ran).hasSize(1);
    assertThat(logged).singleElement().extracting(Throwable::getMessage).isEqualTo("in the task");
    assertThat(guard.post(loop, () -> ran.add("late"))).isFalse();
    assertThat(ran).hasSize(1);
  }

  @Test
  void wrapDefersTheTask() {
    List<String> ran = new CopyOnWriteArrayList<>();
    Runnable r = guard.wrap(() -> ran.add("x"));
    assertThat(ran).isEmpty();
    r.run();
    assertThat(ran).containsExactly("x");
  }
}
