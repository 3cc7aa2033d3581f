package dev.carpoperator.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AddressRecordTest {
  @TempDir Path dir;

  @Test
  void aMissingFileIsAnEmptyRecordAndNothingIsWrittenUntilAnAddressIsAdded() throws Exception {
    AddressRecord r = AddressRecord.inDirectory(dir.resolve("run"));
    assertThat(r.entries()).isEmpty();
    assertThat(dir.resolve("run")).doesNotExist();
  }

  @Test
  void entriesAreWrittenAtOnceAndReadBackByTheNextRun() throws Exception {
    Path runtime = dir.resolve("run/carp-operator"); // created on the first write
    AddressRecord r = AddressRecord.inDirectory(runtime);
    r.add("eth0", "192.0.2.10/24");
    r.add("eth1", "2001:db8:0:0::10/64");
    r.add("eth0", "192.0.2.10/24"); // idempotent

    AddressRecord next = AddressRecord.inDirectory(runtime); // as after a crash
    assertThat(next.entries())
        .containsExactlyInAnyOrder(
            new AddressRecord.Entry("eth0", "192.0.2.10/24"),
            new AddressRecord.Entry("eth1", "2001:db8::10/64"));
    assertThat(next.contains("eth1", "2001:DB8::10/64"))
        .as("any spelling of the same address")
        .isTrue();
    assertThat(next.contains("eth1", "2001:db8::10/128"))
        .as("another prefix length is another address")
        .isFalse();
    assertThat(next.contains("eth0", "192.0.2.10")).as("no prefix means /32").isFalse();
    assertThat(Files.readString(runtime.resolve(AddressRecord.FILE_NAME)))
        .contains("eth0 192.0.2.10/24\n", "eth1 2001:db8::10/64\n");
    assertThat(runtime.resolve(AddressRecord.FILE_NAME + ".tmp")).doesNotExist();
  }

  @Test
  void removingForgetsTheEntryOnDisk() throws Exception {
    AddressRecord r = AddressRecord.inDirectory(dir);
    r.add("eth0", "192.0.2.10/24");
    r.add("eth0", "192.0.2.11/24");
    r.remove("eth0", "192.0.2.10/24");
    r.remove("eth0", "198.51.100.1/24"); // not there: nothing to do
    assertThat(AddressRecord.inDirectory(dir).entries())
        .containsExactly(new AddressRecord.Entry("eth0", "192.0.2.11/24"));
  }

  @Test
  void linesThatDoNotParseAreSkippedSoTheirAddressesStayInPlace() throws Exception {
    Files.writeString(
        dir.resolve(AddressRecord.FILE_NAME),
        """
        # comment
        eth0 192.0.2.10/24
        eth0 not-an-address/24
        eth0
        bad name 192.0.2.1/24
        eth0 192.0.2.12/99
          eth1   192.0.2.13/32
        """,
        StandardCharsets.UTF_8);
    assertThat(AddressRecord.inDirectory(dir).entries())
        .containsExactlyInAnyOrder(
            new AddressRecord.Entry("eth0", "192.0.2.10/24"),
            new AddressRecord.Entry("eth1", "192.0.2.13/32"));
  }

  @Test
  void anEntryIsKeptInMemoryWhenTheFileCannotBeWritten() throws Exception {
    AddressRecord r = AddressRecord.inDirectory(dir.resolve("run"));
    Files.writeString(
        dir.resolve("run"), "x"); // a file where the directory should be (root ignores permissions)
    assertThatThrownBy(() -> r.add("eth0", "192.0.2.10/24"))
        .isInstanceOf(java.io.IOException.class);
    assertThat(r.contains("eth0", "192.0.2.10/24"))
        .as("this run still removes it on release")
        .isTrue();
  }

  @Test
  void anInMemoryRecordWritesNothing() throws Exception {
    AddressRecord r = AddressRecord.inMemory();
    r.add("eth0", "192.0.2.10/24");
    assertThat(r.file()).isNull();
    assertThat(r.entries()).hasSize(1);
    try (var files = Files.list(dir)) {
      assertThat(files.toList()).isEmpty();
    }
  }

  @Test
  void canonicalText() {
    assertThat(AddressRecord.canonical(" 192.0.2.1/24 ")).isEqualTo("192.0.2.1/24");
    assertThat(AddressRecord.canonical("2001:0db8:0000:0000:0000:0000:0000:0001/64"))
        .isEqualTo("2001:db8::1/64");
    assertThat(AddressRecord.canonical("2001:db8::1")).isEqualTo("2001:db8::1/128");
    assertThatThrownBy(() -> AddressRecord.canonical("192.0.2.1/33"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> AddressRecord.canonical("eth0"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(
            AddressRecord.parse(
                AddressRecord.format(List.of(new AddressRecord.Entry("eth0", "192.0.2.1/24")))))
        .isEqualTo(List.of(new AddressRecord.Entry("eth0", "192.0.2.1/24")));
  }
}
