package dev.carpoperator.agent.carp;

import java.net.InetAddress;

/**
 * The IP-layer facts of one received protocol-112 packet, as the frame I/O layer parsed them.
 *
 * @param hopLimit IPv4 TTL or IPv6 hop limit
 * @param source IP source address (may be null if unknown; only passed through)
 * @param destination IP destination address (may be null; only passed through)
 * @param payload the bytes after the IP header, held as given: the caller must not change them
 *     while the packet is validated (the engine passes a fresh copy, {@code
 *     FrameParser.Packet#payload}). May be null or of any length.
 */
public record InboundPacket(
    int hopLimit, InetAddress source, InetAddress destination, byte[] payload) {}
