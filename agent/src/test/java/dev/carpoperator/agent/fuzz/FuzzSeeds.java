package dev.carpoperator.agent.fuzz;

import dev.carpoperator.agent.net.CarpFrames;
import dev.carpoperator.agent.pfsync.PfsyncEncoder;
import dev.carpoperator.agent.pfsync.PfsyncMessage;
import dev.carpoperator.agent.sync.ConntrackEntry;
import dev.carpoperator.agent.sync.ConntrackKernel;
import dev.carpoperator.agent.sync.KernelExecutor;
import dev.carpoperator.agent.sync.SyncCore;
import dev.carpoperator.agent.sync.SyncCounters;
import dev.carpoperator.agent.sync.SyncEnvelope;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the fuzz tests' seed corpora from the codecs' own encoders, so mutations start from
 * packets that pass every check. Run after a wire format change (the files are committed; crash
 * inputs Jazzer adds next to them stay): {@code ./carp fuzz --seeds}. Files are named {@code
 * seed-*}; Jazzer names what it finds {@code crash-*}.
 */
final class FuzzSeeds {
  static final byte[] SYNC_KEY =
      "fuzz-sync-key-0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  static final byte[] SYNC_SOURCE = {(byte) 192, 0, 2, 1};

  /**
   * The wall clock of the sealed seed inputs and of the fuzz target's receiver: they stay within
   * the freshness window.
   */
  static final long SYNC_WALL_MILLIS = 1_800_000_000_000L;

  static final Path RESOURCES = Path.of("src/test/resources/dev/carpoperator/agent/fuzz");

  private FuzzSeeds() {}

  public static void main(String[] args) throws IOException {
    Path root = args.length > 0 ? Path.of(args[0]) : RESOURCES;
    // Control byte 0: the checksums of these inputs are left as they are (see CarpAdvertFuzzTest).
    Map<String, byte[]> carp = new LinkedHashMap<>();
    carpSeeds()
        .forEach(
            (name, ip) -> {
              byte[] withControl = new byte[ip.length + 1];
              System.arraycopy(ip, 0, withControl, 1, ip.length);
              carp.put(name, withControl);
            });
    write(root.resolve("CarpAdvertFuzzTestInputs/ipPacket"), carp);
    write(root.resolve("PfsyncFuzzTestInputs/pfsyncPacket"), pfsyncSeeds());
    write(root.resolve("SyncEnvelopeFuzzTestInputs/sealedPacket"), envelopeSeeds());
    write(root.resolve("ConfigFuzzTestInputs/yaml"), configSeeds());
  }

  static Map<String, byte[]> carpSeeds() {
    Map<String, byte[]> m = new LinkedHashMap<>();
    Inet4Address src4 = FuzzFixtures.PEER4;
    Inet6Address src6 = FuzzFixtures.PEER6;
    byte[] good1 = FuzzFixtures.advert(1, 100, 0, 1, 42);
    m.put("ipv4-vhid1-valid", ip4(src4, good1));
    m.put("ipv4-vhid1-fast-valid", ip4(src4, FuzzFixtures.advert(1, 10, 0, 0, 43)));
    m.put("ipv4-vhid1-bowout-valid", ip4(src4, FuzzFixtures.advert(1, 255, 0, 255, 44)));
    m.put("ipv4-vhid1-demoted-valid", ip4(src4, FuzzFixtures.advert(1, 0, 32, 1, 45)));
    m.put(
        "ipv6-vhid2-valid",
        FuzzFixtures.ipOf(
            CarpFrames.ipv6Multicast(
                FuzzFixtures.PEER_MAC, src6, FuzzFixtures.advert(2, 0, 0, 1, 46))));
    m.put("ipv4-vhid1-loop", ip4(src4, FuzzFixtures.advert(1, 100, 0, 1, FuzzFixtures.OUR_COOKIE)));
    m.put("ipv4-vhid1-trailing-bytes", ip4(src4, Arrays.copyOf(good1, 48)));
    m.put("ipv4-truncated", ip4(src4, Arrays.copyOf(good1, 20)));
    byte[] ttl = ip4(src4, good1);
    ttl[8] = 64;
    ttl[10] = ttl[11] = 0;
    int c = ipChecksum(ttl);
    ttl[10] = (byte) (c >>> 8);
    ttl[11] = (byte) c;
    m.put("ipv4-ttl64", ttl);
    byte[] badSum = ip4(src4, good1.clone());
    badSum[20 + 6] ^= 0x55;
    m.put("ipv4-bad-checksum", badSum);
    m.put(
        "ipv4-bad-auth",
        ip4(
            src4,
            dev.carpoperator.agent.carp.CarpCodec.encode(
                1,
                100,
                0,
                1,
                42,
                dev.carpoperator.agent.carp.CarpHmac.of("wrong", 1, List.of(FuzzFixtures.VIP4)))));
    m.put(
        "ipv4-unknown-vhid",
        ip4(
            src4,
            dev.carpoperator.agent.carp.CarpCodec.encode(
                7,
                100,
                0,
                1,
                42,
                dev.carpoperator.agent.carp.CarpHmac.of(
                    FuzzFixtures.PASSWORD, 7, List.of(FuzzFixtures.VIP4)))));
    return m;
  }

  private static byte[] ip4(Inet4Address src, byte[] carp) {
    return FuzzFixtures.ipOf(
        CarpFrames.ipv4(
            FuzzFixtures.PEER_MAC,
            dev.carpoperator.agent.net.MacAddress.CARP_IPV4_GROUP,
            src,
            CarpFrames.CARP_GROUP_V4,
            0x1234,
            carp));
  }

  private static int ipChecksum(byte[] ip) {
    long sum = 0;
    for (int i = 0; i < 20; i += 2) sum += ((ip[i] & 0xff) << 8) | (ip[i + 1] & 0xff);
    while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
    return (int) (~sum & 0xffff);
  }

  /** A few connections as the kernel reports them: TCP routed and NATed, UDP, ICMP, IPv6. */
  static List<ConntrackEntry> someEntries() {
    List<ConntrackEntry> out = new ArrayList<>();
    var tcp = tuple("198.51.100.10", "203.0.113.10", 40000, 80);
    out.add(
        new ConntrackEntry(
            ConntrackEntry.AF_INET,
            ConntrackEntry.PROTO_TCP,
            tcp,
            tcp.inverted(),
            ConntrackEntry.IPS_SEEN_REPLY
                | ConntrackEntry.IPS_ASSURED
                | ConntrackEntry.IPS_CONFIRMED,
            432000,
            ConntrackEntry.TCP_ESTABLISHED,
            ConntrackEntry.TCP_FLAG_WINDOW_SCALE | ConntrackEntry.TCP_FLAG_SACK_PERM,
            ConntrackEntry.TCP_FLAG_WINDOW_SCALE,
            7,
            9,
            -1,
            -1,
            0,
            0));
    var nat = tuple("198.51.100.11", "203.0.113.10", 40001, 443);
    out.add(
        new ConntrackEntry(
            ConntrackEntry.AF_INET,
            ConntrackEntry.PROTO_TCP,
            nat,
            tuple("203.0.113.10", "203.0.113.1", 443, 61000),
            ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED | ConntrackEntry.IPS_SRC_NAT,
            432000,
            ConntrackEntry.TCP_ESTABLISHED,
            0,
            0,
            0,
            0,
            -1,
            -1,
            0,
            0));
    var udp = tuple("198.51.100.12", "203.0.113.53", 5353, 53);
    out.add(
        new ConntrackEntry(
            ConntrackEntry.AF_INET,
            ConntrackEntry.PROTO_UDP,
            udp,
            udp.inverted(),
            ConntrackEntry.IPS_SEEN_REPLY,
            120,
            -1,
            0,
            0,
            0,
            0,
            -1,
            -1,
            0,
            0));
    var icmp = tuple("198.51.100.13", "203.0.113.10", 77, 0);
    out.add(
        new ConntrackEntry(
            ConntrackEntry.AF_INET,
            ConntrackEntry.PROTO_ICMP,
            icmp,
            tuple("203.0.113.10", "198.51.100.13", 77, 0),
            0,
            30,
            -1,
            0,
            0,
            0,
            0,
            8,
            0,
            0,
            0));
    var v6 = tuple("2001:db8:1::10", "2001:db8:2::10", 40002, 22);
    out.add(
        new ConntrackEntry(
            ConntrackEntry.AF_INET6,
            ConntrackEntry.PROTO_TCP,
            v6,
            v6.inverted(),
            ConntrackEntry.IPS_SEEN_REPLY | ConntrackEntry.IPS_ASSURED,
            432000,
            ConntrackEntry.TCP_ESTABLISHED,
            0,
            0,
            0,
            0,
            -1,
            -1,
            0,
            0));
    return out;
  }

  private static ConntrackEntry.Tuple tuple(String src, String dst, int sport, int dport) {
    return new ConntrackEntry.Tuple(
        InetAddress.ofLiteral(src), InetAddress.ofLiteral(dst), sport, dport);
  }

  /**
   * Packets a sync core sends: its INS, UPD_C and DEL_C, a bulk request, and a bulk answer (UPD,
   * BUS); plus CLR.
   */
  static Map<String, byte[]> pfsyncSeeds() {
    Map<String, byte[]> m = new LinkedHashMap<>();
    long s = PfsyncFuzzTest.S;
    long now = 1_000 * s;
    var settings = new SyncCore.Settings(0x0a0a0a0a, 0x0a0a0a0aL << 32, 1400, 0, 0, 2 * s, 30 * s);
    SyncCore sender = new SyncCore(settings, null, new SyncCounters());
    sender.start(now, List.of(), true);
    put(m, "bulk-request", sender.poll(now));
    List<ConntrackEntry> entries = someEntries();
    for (ConntrackEntry e : entries) sender.kernelEvent(ConntrackKernel.EventType.NEW, e, now);
    put(m, "ins", sender.poll(now + 1));
    sender.kernelEvent(
        ConntrackKernel.EventType.UPDATE,
        entries.get(0).withDynamic(entries.get(0).status(), 431000, ConntrackEntry.TCP_FIN_WAIT),
        now + 2);
    put(m, "upd-c", sender.poll(now + 3));
    sender.kernelEvent(ConntrackKernel.EventType.DESTROY, entries.get(2), now + 4);
    put(m, "del-c", sender.poll(now + 5));
    // A bulk request arriving at the sender: it answers with every state as UPD between BUS START
    // and END.
    SyncCore asker = PfsyncFuzzTest.receiver(new SyncCounters());
    asker.start(now, List.of(), true);
    KernelExecutor senderKernel = new KernelExecutor(new FuzzKernel(), sender);
    for (byte[] p : asker.poll(now)) senderKernel.execute(sender.receive(p, 0, p.length, now + 10));
    List<byte[]> bulk = new ArrayList<>();
    for (long t = now + 10; t < now + s; t += 1_000_000) bulk.addAll(sender.poll(t));
    put(m, "bulk", bulk);
    put(m, "clr", PfsyncEncoder.pack(List.of(new PfsyncMessage.Clr("", 0x0a0a0a0a)), 1400));
    return m;
  }

  private static void put(Map<String, byte[]> m, String name, List<byte[]> packets) {
    if (packets.isEmpty()) throw new IllegalStateException("no packet for seed " + name);
    for (int i = 0; i < packets.size(); i++)
      m.put(name + (packets.size() > 1 ? "-" + i : ""), packets.get(i));
  }

  static Map<String, byte[]> envelopeSeeds() {
    Map<String, byte[]> m = new LinkedHashMap<>();
    List<byte[]> plain = new ArrayList<>(pfsyncSeeds().values());
    byte[] salt = new byte[16];
    salt[0] = 1; // fixed, so that rewriting these inputs changes them only when the format does
    SyncEnvelope auth = new SyncEnvelope(SYNC_KEY, false, salt, () -> SYNC_WALL_MILLIS);
    SyncEnvelope enc = new SyncEnvelope(SYNC_KEY, true, salt, () -> SYNC_WALL_MILLIS);
    for (int i = 0; i < Math.min(3, plain.size()); i++) {
      m.put("authenticated-" + i, auth.seal(plain.get(i), SYNC_SOURCE, i, new long[] {i + 1L}));
      m.put("encrypted-" + i, enc.seal(plain.get(i), SYNC_SOURCE));
    }
    m.put("unauthenticated", plain.get(0));
    return m;
  }

  static Map<String, byte[]> configSeeds() throws IOException {
    Map<String, byte[]> m = new LinkedHashMap<>();
    // The full example from docs/standalone.md, every key in use.
    String doc = Files.readString(Path.of("../docs/standalone.md"));
    int start = doc.indexOf("```yaml\n") + 8;
    m.put(
        "standalone-md-example",
        doc.substring(start, doc.indexOf("```", start)).getBytes(StandardCharsets.UTF_8));
    m.put(
        "minimal",
        """
        node: fw0
        virtualAddresses:
          - {vhid: 1, interface: eth0, addresses: ["192.0.2.100/24"], password: secret}
        """
            .getBytes(StandardCharsets.UTF_8));
    m.put(
        "fast-sync-bsd",
        """
        node: fw1
        virtualAddresses:
          - vhid: 2
            interface: eth0
            profile: fast
            advbase: 0
            advskew: 10
            addresses: ["2001:db8::100/64"]
            passwordFile: password
            peers: ["192.0.2.12"]
        sync: {interface: sync0, mode: bsd-compatible, peers: ["192.0.2.2"], hostId: 7}
        """
            .getBytes(StandardCharsets.UTF_8));
    m.put(
        "invalid-fields",
        """
        node: ""
        metricsPort: 70000
        virtualAddresses:
          - {vhid: 0, interface: "way-too-long-interface-name", addresses: ["192.0.2.100"], advbase: 0}
          - null
        sync: {interface: sync0, keyFile: sync.key, encrypt: true, maxDelayMillis: -1}
        """
            .getBytes(StandardCharsets.UTF_8));
    m.put(
        "wrong-types",
        "node: [1, 2]\nvirtualAddresses: {vhid: x}\ndemotion: 3\n"
            .getBytes(StandardCharsets.UTF_8));
    m.put(
        "anchors",
        "a: &x {vhid: 1}\nnode: fw0\nvirtualAddresses: [*x, *x]\n"
            .getBytes(StandardCharsets.UTF_8));
    return m;
  }

  private static void write(Path dir, Map<String, byte[]> seeds) throws IOException {
    Files.createDirectories(dir);
    try (var old = Files.list(dir)) {
      for (Path p : old.filter(p -> p.getFileName().toString().startsWith("seed-")).toList())
        Files.delete(p);
    }
    for (var e : seeds.entrySet()) Files.write(dir.resolve("seed-" + e.getKey()), e.getValue());
    System.out.println(dir + ": " + seeds.size() + " seeds");
  }
}
