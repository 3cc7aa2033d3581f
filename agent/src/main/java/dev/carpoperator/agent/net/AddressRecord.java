package dev.carpoperator.agent.net;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The addresses this agent added to its NICs, kept in a small file so that the agent only ever
 * removes what it added itself: a virtual address that names a node's own IP (a typo) must never
 * take that IP off the node. iproute2 6.1 has no {@code ip addr ... proto} and IPv6 has no address
 * labels, so the kernel cannot tell us who added an address.
 *
 * <p>The file lives under a runtime directory ({@code /run/carp-operator} by default): /run is a
 * tmpfs, cleared at reboot exactly like the addresses themselves, so the record and the NICs agree
 * across a crash or a pod restart. An entry is written (fsync'd, atomic rename) before the address
 * is added and dropped after it is removed: a crash between the two leaves an entry too many (its
 * removal later is a no-op), never an unrecorded address.
 *
 * <p>Format: one {@code INTERFACE CIDR} per line ("eth0 192.0.2.10/24"), CIDRs in canonical text
 * (RFC 5952 for IPv6), {@code #} comments. Lines that do not parse are skipped: an entry lost means
 * an address left in place, which is the safe side. Thread-safe.
 */
public final class AddressRecord {
  public static final String FILE_NAME = "addresses";

  /** One address this agent added: interface and canonical CIDR ("192.0.2.10/24"). */
  public record Entry(String interfaceName, String cidr) {
    public Entry {
      AddressManager.checkName(interfaceName);
      cidr = canonical(cidr);
    }

    @Override
    public String toString() {
      return interfaceName + " " + cidr;
    }
  }

  private final Path file; // null: kept in memory only (tests, tools)
  private final Set<Entry> entries = new LinkedHashSet<>();

  private AddressRecord(Path file, Collection<Entry> initial) {
    this.file = file;
    entries.addAll(initial);
  }

  /**
   * Reads the record at {@code file}; a missing file is an empty record (the first run since boot).
   */
  public static AddressRecord open(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      text = "";
    }
    return new AddressRecord(file, parse(text));
  }

  /** The record of {@code runtimeDirectory}: the file {@value #FILE_NAME} in it. */
  public static AddressRecord inDirectory(Path runtimeDirectory) throws IOException {
    return open(runtimeDirectory.resolve(FILE_NAME));
  }

  /** A record that is not persisted: an agent using it forgets what it added when it stops. */
  public static AddressRecord inMemory() {
    return new AddressRecord(null, List.of());
  }

  /** The file, or null for an in-memory record. */
  public Path file() {
    return file;
  }

  public synchronized Set<Entry> entries() {
    return Set.copyOf(entries);
  }

  public synchronized boolean contains(String ifName, String cidr) {
    return entries.contains(new Entry(ifName, cidr));
  }

  /**
   * Records an address before it is added. The entry is kept in memory even if the file cannot be
   * written (so this run still removes it on release); the exception says the record on disk is
   * behind.
   */
  public synchronized void add(String ifName, String cidr) throws IOException {
    if (entries.add(new Entry(ifName, cidr))) persist();
  }

  /** Forgets an address after it was removed. */
  public synchronized void remove(String ifName, String cidr) throws IOException {
    if (entries.remove(new Entry(ifName, cidr))) persist();
  }

  private void persist() throws IOException {
    if (file == null) return;
    write(file, format(entries));
  }

  /**
   * Writes {@code text} to a temporary file, fsyncs it, renames it over {@code file} and fsyncs the
   * directory.
   */
  static void write(Path file, String text) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = dir.resolve(file.getFileName() + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
      while (b.hasRemaining()) ch.write(b);
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot replace " + file + " atomically", e);
    }
    // the rename itself must survive a crash too
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // some file systems cannot open a directory for fsync; the rename is still atomic
    }
  }

  static String format(Collection<Entry> entries) {
    StringBuilder sb =
        new StringBuilder(
            "# addresses added by the carp-operator agent (interface cidr); removed only by it\n");
    for (Entry e : entries) sb.append(e).append('\n');
    return sb.toString();
  }

  /** Entries of a record's text; lines that do not parse are skipped. */
  static List<Entry> parse(String text) {
    List<Entry> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) continue;
      String[] f = l.split("\\s+");
      if (f.length != 2) continue;
      try {
        out.add(new Entry(f[0], f[1]));
      } catch (IllegalArgumentException e) {
        // skipped: forgetting an entry only leaves an address in place
      }
    }
    return out;
  }

  /**
   * "192.0.2.10/24", "2001:db8::10/64": one text per address and prefix, whatever way it was
   * written.
   */
  public static String canonical(String cidr) {
    String s = AddressManager.normalise(cidr);
    int slash = s.indexOf('/');
    InetAddress a;
    try {
      a = InetAddress.ofLiteral(s.substring(0, slash));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not an IP address literal: " + cidr, e);
    }
    int len = Integer.parseInt(s.substring(slash + 1));
    if (len > a.getAddress().length * 8)
      throw new IllegalArgumentException("prefix length too long: " + cidr);
    return AddressManager.text(a) + "/" + len;
  }
}
