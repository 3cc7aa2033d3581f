package dev.carpoperator.agent.linux.conntrack;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The few libc calls the event thread needs to wait on its socket and be woken by {@code close()},
 * and the batched writes need to send several requests at once and read their acknowledgements.
 */
interface LibC extends Library {
  LibC INSTANCE = Native.load("c", LibC.class);

  int EPERM = 1;
  int ENOENT = 2;
  int EINTR = 4;
  int EIO = 5;
  int EAGAIN = 11;
  int EBUSY = 16;
  int EEXIST = 17;
  int EINVAL = 22;
  int ENOBUFS = 105;

  int F_GETFL = 3;
  int F_SETFL = 4;

  /** x86-64 and arm64 value (asm-generic). */
  int O_NONBLOCK = 0x800;

  int EFD_CLOEXEC = 0x80000;
  short POLLIN = 0x1;

  int fcntl(int fd, int cmd, Object... args);

  int eventfd(int initval, int flags);

  /** {@code struct pollfd[]}: int fd, short events, short revents (8 bytes each). */
  int poll(Pointer fds, NativeLong nfds, int timeoutMillis);

  NativeLong write(int fd, byte[] buf, NativeLong count);

  int close(int fd);

  NativeLong send(int fd, Pointer buf, NativeLong len, int flags);

  NativeLong recv(int fd, Pointer buf, NativeLong len, int flags);

  int SOL_SOCKET = 1;
  int SO_ATTACH_FILTER = 26;
  int SOL_NETLINK = 270;
  int NETLINK_ADD_MEMBERSHIP = 1;
  int NETLINK_DROP_MEMBERSHIP = 2;

  int setsockopt(int fd, int level, int optname, Pointer optval, int optlen);

  String strerror(int errnum);
}
