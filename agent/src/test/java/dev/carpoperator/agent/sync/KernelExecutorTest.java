package dev.carpoperator.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link KernelExecutor} on the in-memory kernel table: the actions in order, each outcome reported
 * to the core, then that the list is done.
 */
class KernelExecutorTest {
  final InMemoryConntrack kernel = new InMemoryConntrack();
  final List<String> outcomes = new ArrayList<>();
  final KernelExecutor executor =
      new KernelExecutor(
          kernel,
          new KernelExecutor.Outcomes() {
            @Override
            public void written(KernelEffect.Write w) {
              outcomes.add("written " + w.what() + " " + w.entry().original().sourcePort());
            }

            @Override
            public void writeFailed(KernelEffect.Write w, ConntrackException e) {
              outcomes.add("failed " + w.what() + ": " + e.errno());
            }

            @Override
            public void executed() {
              outcomes.add("executed");
            }
          });

  final ConntrackEntry a = Entries.tcp(40000, ConntrackEntry.TCP_ESTABLISHED);
  final ConntrackEntry b = Entries.tcp(40001, ConntrackEntry.TCP_ESTABLISHED);

  @Test
  void writesGoToTheKernelInOrderAndEachOutcomeIsReported() {
    ConntrackEntry closing = a.withDynamic(a.status(), 120, ConntrackEntry.TCP_FIN_WAIT);
    executor.execute(
        List.of(
            new KernelEffect.Create(a),
            new KernelEffect.Create(b),
            new KernelEffect.Update(closing),
            new KernelEffect.Delete(b)));
    assertThat(kernel.table).containsOnlyKeys(a.key());
    assertThat(kernel.table.get(a.key()).tcpState()).isEqualTo(ConntrackEntry.TCP_FIN_WAIT);
    assertThat(kernel.creates).isEqualTo(2);
    assertThat(kernel.updates).isEqualTo(1);
    assertThat(kernel.deletes).isEqualTo(1);
    assertThat(outcomes)
        .containsExactly(
            "written create 40000",
            "written create 40001",
            "written update 40000",
            "written delete 40001",
            "executed");
  }

  @Test
  void aRefusedWriteIsReportedAndTheRestGoesOn() {
    kernel.refuseWrites = true;
    executor.execute(List.of(new KernelEffect.Create(a), new KernelEffect.Delete(b)));
    assertThat(outcomes)
        .as("deleting an entry the kernel does not have is no failure")
        .containsExactly("failed create: 22", "written delete 40001", "executed");
  }

  @Test
  void anEmptyListIsDoneAtOnce() {
    executor.execute(List.of());
    assertThat(outcomes).containsExactly("executed");
  }

  @Test
  void theCoreUndoesARefusedCreateAndCountsIt() {
    SyncCoreTest.Node node = new SyncCoreTest.Node(0x0b0b0b0b);
    node.kernel.refuseWrites = true;
    var ins =
        new dev.carpoperator.agent.pfsync.PfsyncMessage.Ins(StateMapper.toState(a, 1, 0x0a0a0a0a));
    byte[] p = dev.carpoperator.agent.pfsync.PfsyncEncoder.pack(List.of(ins), 1444).getFirst();
    node.receive(p, 1_000_000_000_000L);
    assertThat(node.kernel.table).isEmpty();
    assertThat(node.core.tableSize()).isZero();
    assertThat(node.core.counters().statesRejected("kernel_create")).isEqualTo(1);
  }
}
