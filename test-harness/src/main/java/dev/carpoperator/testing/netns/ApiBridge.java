package dev.carpoperator.testing.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Lets processes inside lab namespaces reach the API server on the root namespace's loopback,
 * without any change to the root namespace's networking: a Unix socket is reachable from every
 * network namespace (it lives in the file system). This side listens on the socket and connects to
 * the API server; {@link #main} runs inside a host and listens on its own loopback. Closing the
 * bridge cuts every connection: an API-server outage for the agents.
 */
public final class ApiBridge implements AutoCloseable {
  private final ServerSocketChannel server;
  private final Path socket;
  private final List<SocketChannel> open = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  private ApiBridge(Path socket, InetSocketAddress target) throws IOException {
    this.socket = socket;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread.ofVirtual()
        .name("api-bridge")
        .start(
            () -> {
              while (!closed) {
                try {
                  SocketChannel in = server.accept();
                  SocketChannel out = SocketChannel.open(target);
                  open.add(in);
                  open.add(out);
                  pipe(in, out, open);
                  pipe(out, in, open);
                } catch (IOException e) {
                  if (!closed) continue;
                  return;
                }
              }
            });
  }

  /** Listens on {@code socket} and forwards to {@code target} (the API server on loopback). */
  public static ApiBridge open(Path socket, InetSocketAddress target) {
    try {
      return new ApiBridge(socket, target);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + socket, e);
    }
  }

  public Path socket() {
    return socket;
  }

  /**
   * Inside a host: {@code ApiBridge PORT SOCKET} listens on 127.0.0.1:PORT and forwards to the Unix
   * socket.
   */
  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(args[0]);
    UnixDomainSocketAddress target = UnixDomainSocketAddress.of(Path.of(args[1]));
    List<SocketChannel> conns = new CopyOnWriteArrayList<>();
    try (ServerSocketChannel listen = ServerSocketChannel.open()) {
      listen.bind(new InetSocketAddress("127.0.0.1", port));
      while (true) {
        SocketChannel in = listen.accept();
        try {
          SocketChannel out = SocketChannel.open(target);
          pipe(in, out, conns);
          pipe(out, in, conns);
        } catch (IOException e) {
          in.close(); // the bridge is cut: the client sees a refused connection, like an
          // unreachable API server
        }
      }
    }
  }

  private static void pipe(SocketChannel from, SocketChannel to, List<SocketChannel> open) {
    Thread.ofVirtual()
        .start(
            () -> {
              ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
              try {
                while (from.read(buf) >= 0) {
                  buf.flip();
                  while (buf.hasRemaining()) to.write(buf);
                  buf.clear();
                }
              } catch (IOException e) {
                // connection cut
              } finally {
                try {
                  from.close();
                } catch (IOException ignored) {
                }
                try {
                  to.close();
                } catch (IOException ignored) {
                }
                open.remove(from);
                open.remove(to);
              }
            });
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    for (SocketChannel c : open) {
      try {
        c.close();
      } catch (IOException ignored) {
      }
    }
    try {
      Files.deleteIfExists(socket);
    } catch (IOException ignored) {
      // a stale socket file is replaced on the next open
    }
  }
}
