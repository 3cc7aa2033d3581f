package dev.carpoperator.agent.linux.conntrack;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * The part of libnetfilter_conntrack (Debian libnetfilter-conntrack3, 1.0.9) that {@link
 * NetfilterConntrack} uses. Constants are copied from {@code libnetfilter_conntrack.h} and the
 * libnfnetlink headers it includes. Handles and conntrack objects are opaque {@link Pointer}s; the
 * {@code _u8/_u16/_u32} accessors take host byte order, while addresses, ports and the ICMP id are
 * stored in network byte order and go through {@link #nfct_set_attr} and {@link #nfct_get_attr} as
 * raw bytes.
 */
interface NfConntrack extends Library {
  /** There is no unversioned .so without the -dev package. */
  String LIBRARY = "libnetfilter_conntrack.so.3";

  byte NFNL_SUBSYS_CTNETLINK = 1;
  int NF_NETLINK_CONNTRACK_NEW = 0x1;
  int NF_NETLINK_CONNTRACK_UPDATE = 0x2;
  int NF_NETLINK_CONNTRACK_DESTROY = 0x4;
  // the same groups by number (enum nfnetlink_groups), for NETLINK_ADD/DROP_MEMBERSHIP
  int NFNLGRP_CONNTRACK_NEW = 1;
  int NFNLGRP_CONNTRACK_UPDATE = 2;

  // enum nf_conntrack_msg_type
  int NFCT_T_NEW = 1;
  int NFCT_T_UPDATE = 1 << 1;
  int NFCT_T_DESTROY = 1 << 2;
  int NFCT_T_ALL = NFCT_T_NEW | NFCT_T_UPDATE | NFCT_T_DESTROY;

  int NFCT_CB_CONTINUE = 1;
  int NFCT_CB_STOP = 0;

  // enum nf_conntrack_query
  int NFCT_Q_CREATE = 0;
  int NFCT_Q_UPDATE = 1;
  int NFCT_Q_DESTROY = 2;
  int NFCT_Q_GET = 3;
  int NFCT_Q_DUMP = 5;

  // enum nf_conntrack_attr
  int ATTR_ORIG_IPV4_SRC = 0;
  int ATTR_ORIG_IPV4_DST = 1;
  int ATTR_REPL_IPV4_SRC = 2;
  int ATTR_REPL_IPV4_DST = 3;
  int ATTR_ORIG_IPV6_SRC = 4;
  int ATTR_ORIG_IPV6_DST = 5;
  int ATTR_REPL_IPV6_SRC = 6;
  int ATTR_REPL_IPV6_DST = 7;
  int ATTR_ORIG_PORT_SRC = 8;
  int ATTR_ORIG_PORT_DST = 9;
  int ATTR_REPL_PORT_SRC = 10;
  int ATTR_REPL_PORT_DST = 11;
  int ATTR_ICMP_TYPE = 12;
  int ATTR_ICMP_CODE = 13;
  int ATTR_ICMP_ID = 14;
  int ATTR_ORIG_L3PROTO = 15;
  int ATTR_REPL_L3PROTO = 16;
  int ATTR_ORIG_L4PROTO = 17;
  int ATTR_REPL_L4PROTO = 18;
  int ATTR_TCP_STATE = 19;
  int ATTR_SNAT_IPV4 = 20;
  int ATTR_DNAT_IPV4 = 21;
  int ATTR_SNAT_PORT = 22;
  int ATTR_DNAT_PORT = 23;
  int ATTR_TIMEOUT = 24;
  int ATTR_MARK = 25;
  int ATTR_STATUS = 32;
  int ATTR_TCP_FLAGS_ORIG = 33;
  int ATTR_TCP_FLAGS_REPL = 34;
  int ATTR_TCP_MASK_ORIG = 35;
  int ATTR_TCP_MASK_REPL = 36;
  int ATTR_TCP_WSCALE_ORIG = 59;
  int ATTR_TCP_WSCALE_REPL = 60;
  int ATTR_ZONE = 61;
  int ATTR_SNAT_IPV6 = 70;
  int ATTR_DNAT_IPV6 = 71;

  /**
   * {@code int (*cb)(const struct nlmsghdr *, enum nf_conntrack_msg_type, struct nf_conntrack *,
   * void *)}
   */
  interface Callback2 extends Callback {
    int invoke(Pointer nlh, int type, Pointer ct, Pointer data);
  }

  Pointer nfct_open(byte subsysId, int subscriptions);

  int nfct_close(Pointer handle);

  int nfct_fd(Pointer handle);

  Pointer nfct_nfnlh(Pointer handle);

  int nfct_callback_register2(Pointer handle, int type, Callback2 cb, Pointer data);

  int nfct_query(Pointer handle, int query, Pointer data);

  /**
   * Appends the attributes of {@code ct} to the netlink message at {@code nlh} (whose header and
   * nfgenmsg the caller wrote) and grows its nlmsg_len: requests built so can be sent together.
   */
  int nfct_nlmsg_build(Pointer nlh, Pointer ct);

  /** Reads a ctnetlink conntrack message into {@code ct} (the tests compare CtNetlinkDecoder). */
  int nfct_nlmsg_parse(Pointer nlh, Pointer ct);

  int nfct_catch(Pointer handle);

  Pointer nfct_new();

  void nfct_destroy(Pointer ct);

  /** Copies {@code value} (the attribute's size, network byte order for addresses and ports). */
  void nfct_set_attr(Pointer ct, int type, byte[] value);

  void nfct_set_attr_u8(Pointer ct, int type, byte value);

  void nfct_set_attr_u16(Pointer ct, int type, short value);

  void nfct_set_attr_u32(Pointer ct, int type, int value);

  /** NULL when the attribute is not set. */
  Pointer nfct_get_attr(Pointer ct, int type);

  byte nfct_get_attr_u8(Pointer ct, int type);

  short nfct_get_attr_u16(Pointer ct, int type);

  int nfct_get_attr_u32(Pointer ct, int type);

  int nfct_attr_is_set(Pointer ct, int type);

  /**
   * libnfnetlink (libnfnetlink0, a dependency of libnetfilter-conntrack3), for the handle's socket.
   */
  interface Nfnl extends Library {
    String LIBRARY = "libnfnetlink.so.0";

    /**
     * The netlink port id the kernel gave the socket (stamped as nlmsg_pid on events it causes).
     */
    int nfnl_portid(Pointer nfnlHandle);

    /** Sets SO_RCVBUF(FORCE); returns the size the kernel granted. */
    int nfnl_rcvbufsiz(Pointer nfnlHandle, int size);
  }
}
