package dev.carpoperator.agent.carp;

import java.net.InetAddress;

/**
 * The IP-layer facts of one received protocol-112 packet, as the frame I/O layer parsed them.
 *
 * @param hopLimit IPv4 TTL or IPv6 hop limit
 * @param source IP source address (may be null if unknown; only passed through)
 * @param destination IP destination address (may be null; only passed through)
 * @param payload the bytes after the IP header; not copied (hot path), the caller must not reuse it
 *     while validating. May be null or of any length.
 */
public record InboundPacket(
    int hopLimit, InetAddress source, InetAddress destination, byte[] payload) {}
