package dev.carpoperator.agent.engine;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.carpoperator.agent.metrics.AgentMetrics;
import dev.carpoperator.agent.net.AddressChanges;
import dev.carpoperator.agent.net.AddressRecord;
import dev.carpoperator.agent.net.AnnouncementFrames;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CARP engine's address worker: one thread that makes the blocking address changes (take over,
 * announce, release), so an election never waits for {@code ip} and the order take-over/release per
 * vhid is kept. Every address it adds is written to the {@link AddressRecord} first, and it only
 * ever removes what the record holds: a virtual address that is one of the node's own must never be
 * taken off the node.
 */
final class AddressActuator {
  private static final Logger log = LoggerFactory.getLogger(AddressActuator.class);

  /**
   * Frames of each announcement: a small burst, so one lost frame does not leave a stale neighbour
   * cache.
   */
  static final int ANNOUNCE_BURST = 3;

  private final AddressChanges addresses;
  private final AgentMetrics metrics;
  private final ExecutorService worker =
      Executors.newSingleThreadExecutor(r -> new Thread(r, "carp-addresses"));

  /** What this agent added to the NICs: the only addresses it ever removes. */
  private volatile AddressRecord record = AddressRecord.inMemory();

  AddressActuator(AddressChanges addresses, AgentMetrics metrics) {
    this.addresses = addresses;
    this.metrics = metrics;
  }

  /** Where to record the addresses added; call before the first change. */
  void recordIn(AddressRecord record) {
    this.record = record;
  }

  /** The addresses recorded as added by this agent (an earlier run's included). */
  Set<AddressRecord.Entry> recorded() {
    return record.entries();
  }

  /** Runs {@code task} on the worker, after the changes queued before it. */
  void execute(Runnable task) {
    worker.execute(task);
  }

  /** Adds a vhid's addresses and announces them (worker). */
  void takeOver(CarpVhost v) {
    long t0 = System.nanoTime();
    try {
      for (String p : v.spec.prefixes()) addRecorded(v.link.name, p);
      announce(v);
      metrics.addressChangeSeconds.labelValues("add").observe((System.nanoTime() - t0) / 1e9);
    } catch (IOException | RuntimeException e) {
      metrics.addressChangeErrors.labelValues("add").inc();
      log.error(
          "cannot take over the addresses",
          kv("interface", v.link.name),
          kv("vhid", v.vhid()),
          kv("error", e.toString()));
    }
  }

  /**
   * Gratuitous ARP for each IPv4 address, unsolicited NA (from the link-local address) for each
   * IPv6 one, {@link #ANNOUNCE_BURST} times (worker).
   */
  void announce(CarpVhost v) {
    try {
      Inet6Address ll = v.link.linkLocalV6;
      for (int i = 0; i < ANNOUNCE_BURST; i++) {
        for (Inet4Address a : v.v4) v.link.io.send(AnnouncementFrames.gratuitousArp(v.link.mac, a));
        for (Inet6Address a : v.v6)
          v.link.io.send(
              AnnouncementFrames.unsolicitedNa(v.link.mac, ll == null ? a : ll, a, false));
      }
    } catch (RuntimeException e) {
      log.warn(
          "cannot announce the addresses",
          kv("interface", v.link.name),
          kv("vhid", v.vhid()),
          kv("error", e.toString()));
    }
  }

  /** Removes a vhid's addresses (worker). */
  void release(CarpVhost v) {
    long t0 = System.nanoTime();
    try {
      for (String p : v.spec.prefixes()) releaseRecorded(v.link.name, p);
      metrics.addressChangeSeconds.labelValues("remove").observe((System.nanoTime() - t0) / 1e9);
    } catch (IOException | RuntimeException e) {
      metrics.addressChangeErrors.labelValues("remove").inc();
      log.error(
          "cannot release the addresses",
          kv("interface", v.link.name),
          kv("vhid", v.vhid()),
          kv("error", e.toString()));
    }
  }

  /**
   * Records an address, then adds it: a crash in between leaves an entry whose removal is a no-op,
   * never an address the record does not know. If the record cannot be written the address is still
   * added (failing over matters more); this run still knows it, and the error says that a crash now
   * would leave it behind.
   */
  void addRecorded(String ifName, String prefix) throws IOException {
    try {
      record.add(ifName, prefix);
    } catch (IOException e) {
      metrics.addressChangeErrors.labelValues("record").inc();
      log.error(
          "cannot write the address record {}: after a crash the agent would not remove {} from {}",
          record.file(),
          prefix,
          ifName,
          kv("event", "record-failed"),
          kv("error", e.toString()));
    }
    addresses.add(ifName, prefix);
  }

  /** Removes an address this agent added (never one it did not), then forgets it. */
  void releaseRecorded(String ifName, String prefix) throws IOException {
    if (!record.contains(ifName, prefix)) {
      // normal when a replaced vhid with the same address removed it first (reconfigure); else
      // someone else's
      log.debug("{} on {} is not in the address record: left in place", prefix, ifName);
      return;
    }
    addresses.remove(ifName, prefix);
    try {
      record.remove(ifName, prefix);
    } catch (IOException e) {
      // the entry stays on disk: its removal at the next start is a no-op
      log.warn("cannot update the address record {}", record.file(), kv("error", e.toString()));
    }
  }

  /**
   * Removes an address if this agent added it, then forgets it; an address not in the record stays.
   * At start, for a stray copy left by a crashed agent: it would answer ARP while another node is
   * master.
   */
  void removeRecorded(String ifName, String prefix) throws IOException {
    if (!record.contains(ifName, prefix)) return;
    addresses.remove(ifName, prefix);
    record.remove(ifName, prefix);
  }

  /** Whether a NIC exists (a vanished NIC took its addresses with it). */
  @FunctionalInterface
  interface NicExists {
    boolean test(String ifName) throws IOException;
  }

  /**
   * At start this agent is master of nothing: every recorded address left by an earlier run (a
   * crash, a killed pod, one no longer configured) comes off, except those in {@code keep} (a
   * load-shared group's, which every node holds while it runs).
   */
  void removeLeftovers(Set<AddressRecord.Entry> keep, NicExists exists) {
    for (AddressRecord.Entry e : record.entries()) {
      if (keep.contains(e)) continue;
      try {
        // a vanished interface took its addresses with it
        if (exists.test(e.interfaceName())) addresses.remove(e.interfaceName(), e.cidr());
        record.remove(e.interfaceName(), e.cidr());
        log.info(
            "removed {} from {}: left by an earlier run of the agent",
            e.cidr(),
            e.interfaceName(),
            kv("event", "leftover-removed"),
            kv("interface", e.interfaceName()),
            kv("address", e.cidr()));
      } catch (IOException | RuntimeException ex) {
        log.warn(
            "cannot remove {} from {} (left by an earlier run)",
            e.cidr(),
            e.interfaceName(),
            kv("interface", e.interfaceName()),
            kv("address", e.cidr()),
            kv("error", ex.toString()));
      }
    }
  }

  /** Lets the queued changes finish (at most 5 s), then stops the worker. */
  void shutdown() {
    worker.shutdown();
    try {
      worker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
