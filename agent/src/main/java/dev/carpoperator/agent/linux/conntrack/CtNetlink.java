package dev.carpoperator.agent.linux.conntrack;

/**
 * The ctnetlink attribute numbers {@link CtNetlinkEncoder} and {@link CtNetlinkDecoder} use, from
 * linux/netfilter/nfnetlink_conntrack.h and linux/netlink.h.
 */
final class CtNetlink {
  private CtNetlink() {}

  static final int CTA_TUPLE_ORIG = 1;
  static final int CTA_TUPLE_REPLY = 2;
  static final int CTA_STATUS = 3;
  static final int CTA_PROTOINFO = 4;
  static final int CTA_NAT_SRC = 6;
  static final int CTA_TIMEOUT = 7;
  static final int CTA_MARK = 8;
  static final int CTA_NAT_DST = 13;
  static final int CTA_ZONE = 18;
  static final int CTA_TUPLE_IP = 1;
  static final int CTA_TUPLE_PROTO = 2;
  static final int CTA_IP_V4_SRC = 1;
  static final int CTA_IP_V4_DST = 2;
  static final int CTA_IP_V6_SRC = 3;
  static final int CTA_IP_V6_DST = 4;
  static final int CTA_PROTO_NUM = 1;
  static final int CTA_PROTO_SRC_PORT = 2;
  static final int CTA_PROTO_DST_PORT = 3;
  static final int CTA_PROTO_ICMP_ID = 4;
  static final int CTA_PROTO_ICMP_TYPE = 5;
  static final int CTA_PROTO_ICMP_CODE = 6;
  static final int CTA_PROTO_ICMPV6_ID = 7;
  static final int CTA_PROTO_ICMPV6_TYPE = 8;
  static final int CTA_PROTO_ICMPV6_CODE = 9;
  static final int CTA_PROTOINFO_TCP = 1;
  static final int CTA_PROTOINFO_TCP_STATE = 1;
  static final int CTA_PROTOINFO_TCP_WSCALE_ORIGINAL = 2;
  static final int CTA_PROTOINFO_TCP_WSCALE_REPLY = 3;
  static final int CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
  static final int CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;
  static final int CTA_NAT_V4_MINIP = 1;
  static final int CTA_NAT_PROTO = 3;
  static final int CTA_NAT_V6_MINIP = 4;
  static final int CTA_PROTONAT_PORT_MIN = 1;
  static final int CTA_PROTONAT_PORT_MAX = 2;
  static final int NLA_F_NESTED = 0x8000;
  static final int NLMSG_HDRLEN = 16;
  static final int NFGENMSG_LEN = 4;
}
