package dev.carpoperator.agent.config;

import dev.carpoperator.agent.engine.SyncEngine;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import dev.carpoperator.api.v1alpha1.SyncSpec;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;

/**
 * The state sync's settings from either front end, the standalone {@code sync:} section or
 * FirewallCluster.spec.sync: one translation, with the defaults of {@code AgentLimits}. The key is
 * read by the front end (a file, a Secret); null in bsd-compatible mode.
 */
public final class SyncSettings {
  private SyncSettings() {}

  /** The standalone {@code sync:} section (validated by {@link ConfigLoader}). */
  public static SyncEngine.Settings of(SyncConfig config, byte[] key) {
    return build(
        config.interfaceName(),
        config.peers(),
        key,
        config.encrypt(),
        config.hostId(),
        config.maxDelayMillis(),
        config.bulkUpdateTimeoutSeconds(),
        config.realtimePriority());
  }

  /** FirewallCluster.spec.sync (validated by the CRD); the host id is random, as pf's default. */
  public static SyncEngine.Settings of(SyncSpec spec, byte[] key) {
    return build(
        spec.getInterfaceName(),
        spec.getPeers(),
        key,
        Boolean.TRUE.equals(spec.getEncrypt()),
        null,
        spec.getMaxDelayMillis(),
        spec.getBulkUpdateTimeoutSeconds(),
        spec.getRealtimePriority() == null ? 0 : spec.getRealtimePriority());
  }

  private static SyncEngine.Settings build(
      String interfaceName,
      List<String> peers,
      byte[] key,
      boolean encrypt,
      Long hostId,
      Integer maxDelayMillis,
      Integer bulkTimeoutSeconds,
      int realtimePriority) {
    return new SyncEngine.Settings(
        interfaceName,
        peers == null ? List.of() : peers.stream().map(SyncSettings::ipv4).toList(),
        key,
        encrypt,
        hostId == null ? SyncEngine.randomHostId() : (int) (long) hostId,
        maxDelayMillis == null ? AgentLimits.SYNC_MAX_DELAY_MILLIS_DEFAULT : maxDelayMillis,
        bulkTimeoutSeconds == null
            ? AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_DEFAULT
            : bulkTimeoutSeconds,
        realtimePriority);
  }

  /** An IPv4 literal, as both front ends validate the peers (never a DNS lookup). */
  private static Inet4Address ipv4(String literal) {
    if (InetAddress.ofLiteral(literal) instanceof Inet4Address v4) return v4;
    throw new IllegalArgumentException("sync peer '" + literal + "' is not an IPv4 address");
  }
}
