package dev.carpoperator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PeriodicTest {
  @Test
  void aFailingRunIsReportedAndTheNextOneStillComesUntilClosed() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    List<RuntimeException> errors = new CopyOnWriteArrayList<>();
    Periodic p =
        Periodic.start(
            "periodic-test",
            Duration.ofMillis(10),
            () -> {
              if (runs.incrementAndGet() == 1) throw new IllegalStateException("first run fails");
            },
            errors::add);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (runs.get() < 3 && System.nanoTime() < deadline) Thread.sleep(10);
    p.close();
    int afterClose = runs.get();

    assertThat(afterClose).isGreaterThanOrEqualTo(3);
    assertThat(errors).extracting(Throwable::getMessage).containsExactly("first run fails");
    Thread.sleep(100); // ten periods: a thread still running would have run again
    assertThat(runs.get()).isEqualTo(afterClose);
  }
}
