package dev.carpoperator.agent.engine;

import dev.carpoperator.agent.linux.LoadSharePlane;
import dev.carpoperator.agent.linux.LoadShareRules;
import dev.carpoperator.agent.net.AddressChanges;
import dev.carpoperator.agent.net.FrameIo;
import dev.carpoperator.agent.net.FrameIoException;
import dev.carpoperator.agent.net.MacAddress;
import dev.carpoperator.agent.net.NicLookup;
import dev.carpoperator.agent.net.NodeAddresses;
import java.io.Closeable;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** Fakes of the engine's ports: a host described in memory, recording what is done to it. */
final class EngineFakes {
  private EngineFakes() {}

  static InetAddress ip(String literal) {
    return InetAddress.ofLiteral(literal);
  }

  static Inet4Address ip4(String literal) {
    return (Inet4Address) InetAddress.ofLiteral(literal);
  }

  /** Frames sent, and a receiver that tests feed. */
  static final class FakeFrameIo implements FrameIo {
    final List<byte[]> sent = new CopyOnWriteArrayList<>();
    volatile Consumer<byte[]> receiver;
    volatile boolean failSends;
    volatile boolean closed;

    @Override
    public void send(byte[] frame) {
      if (failSends) throw new FrameIoException("send failed (fake)");
      sent.add(frame);
    }

    @Override
    public void start(Consumer<byte[]> receiver) {
      this.receiver = receiver;
    }

    void deliver(byte[] frame) {
      receiver.accept(frame);
    }

    @Override
    public Stats stats() {
      return new Stats(0, 0, sent.size(), 0, 0);
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  /** One fake NIC: MAC, addresses (first IPv4 first), carrier. */
  static final class Nic {
    final String name;
    final MacAddress mac;
    final List<InetAddress> addresses = new CopyOnWriteArrayList<>();
    volatile boolean carrier = true;

    Nic(String name, MacAddress mac, String... addresses) {
      this.name = name;
      this.mac = mac;
      for (String a : addresses) this.addresses.add(ip(a));
    }
  }

  static final class FakeNics implements NicLookup {
    final Map<String, Nic> nics = new ConcurrentHashMap<>();
    final List<String> joins = new CopyOnWriteArrayList<>();
    final List<String> left = new CopyOnWriteArrayList<>();
    volatile boolean failListing;

    Nic add(String name, MacAddress mac, String... addresses) {
      Nic n = new Nic(name, mac, addresses);
      nics.put(name, n);
      return n;
    }

    @Override
    public MacAddress mac(String ifName) {
      Nic n = nics.get(ifName);
      return n == null ? null : n.mac;
    }

    @Override
    public Inet4Address ipv4Source(String ifName, Set<? extends InetAddress> excluded)
        throws SocketException {
      if (failListing) throw new SocketException("cannot list (fake)");
      Nic n = nics.get(ifName);
      if (n == null) return null;
      for (InetAddress a : n.addresses)
        if (a instanceof Inet4Address a4 && !excluded.contains(a4)) return a4;
      return null;
    }

    @Override
    public Inet6Address linkLocalV6(String ifName) throws SocketException {
      if (failListing) throw new SocketException("cannot list (fake)");
      Nic n = nics.get(ifName);
      if (n == null) return null;
      for (InetAddress a : n.addresses)
        if (a instanceof Inet6Address a6 && a6.isLinkLocalAddress()) return a6;
      return null;
    }

    @Override
    public Set<InetAddress> hostAddresses() throws SocketException {
      if (failListing) throw new SocketException("cannot list (fake)");
      Set<InetAddress> all = new LinkedHashSet<>();
      for (Nic n : nics.values()) all.addAll(n.addresses);
      return all;
    }

    @Override
    public List<NodeAddresses.HostAddress> hostAddressesWithPrefixes() throws SocketException {
      if (failListing) throw new SocketException("cannot list (fake)");
      List<NodeAddresses.HostAddress> out = new ArrayList<>();
      for (Nic n : nics.values())
        for (InetAddress a : n.addresses)
          out.add(new NodeAddresses.HostAddress(n.name, a, a instanceof Inet4Address ? 24 : 64));
      return out;
    }

    @Override
    public boolean carrier(String ifName) {
      Nic n = nics.get(ifName);
      return n != null && n.carrier;
    }

    @Override
    public Closeable joinCarpGroups(String ifName, boolean ipv4, boolean ipv6) throws IOException {
      if (!nics.containsKey(ifName))
        throw new IOException("interface " + ifName + " does not exist");
      String what = ifName + (ipv4 ? " v4" : "") + (ipv6 ? " v6" : "");
      joins.add(what);
      return () -> left.add(what);
    }
  }

  /** Addresses on fake NICs ("eth0 192.0.2.10/24"), and every call in order. */
  static final class FakeAddresses implements AddressChanges {
    final Set<String> present = ConcurrentHashMap.newKeySet();
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile boolean fail;

    @Override
    public void add(String ifName, String cidr) throws IOException {
      calls.add("add " + ifName + " " + cidr);
      if (fail) throw new IOException("ip failed (fake)");
      present.add(ifName + " " + cidr);
    }

    @Override
    public void remove(String ifName, String cidr) throws IOException {
      calls.add("remove " + ifName + " " + cidr);
      if (fail) throw new IOException("ip failed (fake)");
      present.remove(ifName + " " + cidr);
    }
  }

  /** The rule sets applied, and the MAC filters. */
  static final class FakePlane implements LoadSharePlane {
    final List<List<LoadShareRules.Group>> applied = new CopyOnWriteArrayList<>();
    final Set<String> macs = ConcurrentHashMap.newKeySet();
    volatile int failures; // the next n applies fail
    volatile boolean cleared;

    @Override
    public Duration apply(List<LoadShareRules.Group> groups) throws IOException {
      if (failures > 0) {
        failures--;
        throw new IOException("nft failed (fake)");
      }
      applied.add(groups);
      return Duration.ofMillis(3);
    }

    @Override
    public void clear() {
      cleared = true;
    }

    @Override
    public void acceptMac(String ifName, MacAddress mac) {
      macs.add(ifName + " " + mac);
    }

    @Override
    public void removeMac(String ifName, MacAddress mac) {
      macs.remove(ifName + " " + mac);
    }

    List<LoadShareRules.Group> last() {
      return applied.getLast();
    }
  }
}
