package dev.carpoperator.testing.traffic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lab traffic: many long-lived TCP connections carrying a deterministic byte stream, every byte
 * checked.
 *
 * <ul>
 *   <li>{@code server <port>}: accepts connections; each starts with an 8-byte seed, then the
 *       server checks every byte against the stream of that seed and echoes it back. A wrong byte
 *       closes the connection (the client then sees EOF or a reset) and is printed as {@code
 *       {"type":"server-error",...}}.
 *   <li>{@code client <host> <port> <connections> <chunkBytes> <intervalMs> <seconds>}: opens the
 *       connections (seed 1000 + index), each writing one chunk every {@code intervalMs} (at most
 *       {@value #MAX_OUTSTANDING} bytes not yet echoed), and checks every echoed byte. Runs for
 *       {@code seconds} (0: until SIGTERM), then stops writing, waits for the outstanding echo (at
 *       most {@value #DRAIN_MILLIS} ms, and no longer than a second in which nothing came back) and
 *       prints a summary.
 * </ul>
 *
 * <p>The client prints one JSON line per second, {@code {"type":"progress","at":<epoch
 * ms>,"connected":n, "verified":[bytes per connection],"sent":[...],"ports":[client port per
 * connection],"lastProgressAt":[epoch ms], "errors":[null or "reset", "EOF after N bytes",
 * "mismatch at byte N", ...]}}, and at the end the same with {@code "type":"summary"} and {@code
 * "drained":[sent == verified per connection]}. Reads time out every second, so a stalled
 * connection shows as a {@code lastProgressAt} that stops moving, never as a hung program. {@link
 * Progress#parse} reads those lines back (the sync failover tests, the lab).
 */
public final class TcpStreamsMain {
  public static final int MAX_OUTSTANDING = 64 * 1024;
  public static final long DRAIN_MILLIS = 3000;
  static final long SEED_BASE = 1000;

  private static volatile boolean stopping;

  private TcpStreamsMain() {}

  public static void main(String[] args) throws Exception {
    switch (args.length == 0 ? "" : args[0]) {
      case "server" -> server(Integer.parseInt(args[1]));
      case "client" ->
          client(
              args[1],
              Integer.parseInt(args[2]),
              Integer.parseInt(args[3]),
              Integer.parseInt(args[4]),
              Integer.parseInt(args[5]),
              Integer.parseInt(args[6]));
      default -> {
        System.err.println(
            "usage: server <port> | client <host> <port> <connections> <chunkBytes> <intervalMs> <seconds>");
        System.exit(2);
      }
    }
  }

  /**
   * The deterministic byte stream of one connection: the bytes of a seeded SplittableRandom's
   * longs.
   */
  static final class ByteStream {
    private final SplittableRandom random;
    private long word;
    private int left;

    ByteStream(long seed) {
      random = new SplittableRandom(seed);
    }

    byte next() {
      if (left == 0) {
        word = random.nextLong();
        left = 8;
      }
      byte b = (byte) word;
      word >>>= 8;
      left--;
      return b;
    }

    void fill(byte[] buf) {
      for (int i = 0; i < buf.length; i++) buf[i] = next();
    }
  }

  // ---- server
  // ---------------------------------------------------------------------------------------------

  private static void server(int port) throws IOException {
    AtomicInteger accepted = new AtomicInteger();
    try (ServerSocket server = new ServerSocket()) {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(port), 200);
      System.out.println("{\"type\":\"listening\",\"port\":" + port + "}");
      System.out.flush();
      while (true) {
        Socket s = server.accept();
        int n = accepted.incrementAndGet();
        Thread.ofVirtual().start(() -> echo(s, n));
      }
    }
  }

  private static void echo(Socket s, int n) {
    String peer = s.getRemoteSocketAddress().toString();
    long position = 0;
    try (s) {
      s.setTcpNoDelay(true);
      DataInputStream in = new DataInputStream(s.getInputStream());
      OutputStream out = s.getOutputStream();
      long seed = in.readLong();
      ByteStream expected = new ByteStream(seed);
      byte[] buf = new byte[16384];
      int r;
      while ((r = in.read(buf)) > 0) {
        for (int i = 0; i < r; i++) {
          if (buf[i] != expected.next()) {
            print(
                "{\"type\":\"server-error\",\"peer\":\""
                    + peer
                    + "\",\"seed\":"
                    + seed
                    + ",\"error\":\"mismatch at byte "
                    + (position + i)
                    + "\"}");
            s.setSoLinger(true, 0); // reset: the client must notice
            return;
          }
        }
        out.write(buf, 0, r);
        position += r;
      }
    } catch (IOException e) {
      print(
          "{\"type\":\"server-error\",\"peer\":\""
              + peer
              + "\",\"error\":"
              + quote(String.valueOf(e.getMessage()))
              + ",\"position\":"
              + position
              + "}");
    }
  }

  // ---- client
  // ---------------------------------------------------------------------------------------------

  private static final class Conn {
    final int index;
    final long seed;
    final AtomicLong sent = new AtomicLong();
    final AtomicLong verified = new AtomicLong();
    volatile long lastProgressAt;
    volatile int localPort;
    volatile boolean connected;
    volatile String error;
    volatile Socket socket;

    Conn(int index) {
      this.index = index;
      this.seed = SEED_BASE + index;
    }

    synchronized void fail(String why) {
      if (error == null) error = why;
    }
  }

  private static void client(
      String host, int port, int connections, int chunkBytes, int intervalMs, int seconds)
      throws Exception {
    List<Conn> conns = new ArrayList<>();
    for (int i = 0; i < connections; i++) conns.add(new Conn(i));
    long started = System.currentTimeMillis();
    Object done = new Object();
    boolean[] summarized = {false};
    Runnable finish =
        () -> {
          synchronized (done) {
            if (summarized[0]) return;
            summarized[0] = true;
            stopping = true;
            // until every echo is in, or nothing has come back for a second (stalled), at most
            // DRAIN_MILLIS
            long drainStart = System.currentTimeMillis();
            long until = drainStart + DRAIN_MILLIS;
            while (System.currentTimeMillis() < until
                && !conns.stream()
                    .allMatch(c -> c.error != null || c.sent.get() == c.verified.get())
                && conns.stream()
                    .anyMatch(
                        c ->
                            Math.max(drainStart, c.lastProgressAt)
                                > System.currentTimeMillis() - 1000)) {
              try {
                Thread.sleep(50);
              } catch (InterruptedException e) {
                break;
              }
            }
            print(line("summary", conns, started, true));
            for (Conn c : conns) {
              Socket s = c.socket;
              if (s != null)
                try {
                  s.close();
                } catch (IOException ignored) {
                  /* closing anyway */
                }
            }
          }
        };
    Runtime.getRuntime().addShutdownHook(new Thread(finish, "summary"));

    for (Conn c : conns) Thread.ofVirtual().start(() -> run(c, host, port, chunkBytes, intervalMs));
    Thread.ofPlatform()
        .daemon()
        .name("progress")
        .start(
            () -> {
              while (!stopping) {
                try {
                  Thread.sleep(1000);
                } catch (InterruptedException e) {
                  return;
                }
                if (!stopping) print(line("progress", conns, started, false));
              }
            });
    if (seconds > 0) {
      Thread.sleep(seconds * 1000L);
      finish.run();
      System.exit(0);
    }
    Thread.currentThread().join(); // until SIGTERM
  }

  private static void run(Conn c, String host, int port, int chunkBytes, int intervalMs) {
    Socket s = null;
    long connectUntil = System.currentTimeMillis() + 15_000;
    while (s == null) {
      Socket attempt = new Socket();
      try {
        attempt.connect(new InetSocketAddress(host, port), 3000);
        s = attempt;
      } catch (IOException e) {
        try {
          attempt.close();
        } catch (IOException ignored) {
          /* failed anyway */
        }
        if (stopping || System.currentTimeMillis() > connectUntil) {
          c.fail("connect: " + e.getMessage());
          return;
        }
        sleep(200);
      }
    }
    c.socket = s;
    try {
      s.setTcpNoDelay(true);
      s.setSoTimeout(1000);
      c.localPort = s.getLocalPort();
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.writeLong(c.seed);
      out.flush();
      c.connected = true;
      c.lastProgressAt = System.currentTimeMillis();
    } catch (IOException e) {
      c.fail(classify(e));
      return;
    }
    Socket socket = s;
    Thread reader = Thread.ofVirtual().start(() -> read(c, socket));
    write(c, socket, chunkBytes, intervalMs);
    try {
      reader.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void write(Conn c, Socket s, int chunkBytes, int intervalMs) {
    ByteStream stream = new ByteStream(c.seed);
    byte[] chunk = new byte[chunkBytes];
    sleep(
        new SplittableRandom(c.seed)
            .nextInt(Math.max(1, intervalMs))); // spread the connections' writes
    try {
      OutputStream out = s.getOutputStream();
      while (!stopping && c.error == null) {
        if (c.sent.get() - c.verified.get() + chunkBytes <= MAX_OUTSTANDING) {
          stream.fill(chunk);
          out.write(chunk);
          c.sent.addAndGet(chunkBytes);
        }
        sleep(intervalMs);
      }
    } catch (IOException e) {
      if (!stopping) c.fail(classify(e));
    }
  }

  private static void read(Conn c, Socket s) {
    ByteStream expected = new ByteStream(c.seed);
    byte[] buf = new byte[16384];
    try {
      InputStream in = s.getInputStream();
      while (true) {
        int r;
        try {
          r = in.read(buf);
        } catch (SocketTimeoutException e) {
          if (stopping && c.sent.get() == c.verified.get()) return;
          continue; // stalled for a second: lastProgressAt shows it
        }
        if (r < 0) {
          if (!stopping) c.fail("EOF after " + c.verified.get() + " bytes");
          return;
        }
        long base = c.verified.get();
        for (int i = 0; i < r; i++) {
          if (buf[i] != expected.next()) {
            c.fail("mismatch at byte " + (base + i));
            s.close();
            return;
          }
        }
        c.verified.addAndGet(r);
        c.lastProgressAt = System.currentTimeMillis();
      }
    } catch (IOException e) {
      if (!stopping || c.sent.get() != c.verified.get()) c.fail(classify(e));
    }
  }

  private static String classify(IOException e) {
    String m = String.valueOf(e.getMessage());
    if (m.toLowerCase().contains("reset")) return "reset";
    if (m.toLowerCase().contains("broken pipe")) return "broken pipe";
    return e.getClass().getSimpleName() + ": " + m;
  }

  private static String line(String type, List<Conn> conns, long started, boolean summary) {
    long now = System.currentTimeMillis();
    StringBuilder sb =
        new StringBuilder("{\"type\":\"")
            .append(type)
            .append("\",\"at\":")
            .append(now)
            .append(",\"elapsedMs\":")
            .append(now - started)
            .append(",\"connected\":")
            .append(conns.stream().filter(c -> c.connected).count());
    sb.append(",\"verified\":").append(array(conns, c -> String.valueOf(c.verified.get())));
    sb.append(",\"sent\":").append(array(conns, c -> String.valueOf(c.sent.get())));
    sb.append(",\"ports\":").append(array(conns, c -> String.valueOf(c.localPort)));
    sb.append(",\"lastProgressAt\":").append(array(conns, c -> String.valueOf(c.lastProgressAt)));
    sb.append(",\"errors\":").append(array(conns, c -> c.error == null ? "null" : quote(c.error)));
    if (summary)
      sb.append(",\"drained\":")
          .append(
              array(
                  conns, c -> String.valueOf(c.error == null && c.sent.get() == c.verified.get())));
    return sb.append('}').toString();
  }

  private static String array(List<Conn> conns, java.util.function.Function<Conn, String> f) {
    return "[" + String.join(",", conns.stream().map(f).toList()) + "]";
  }

  private static String quote(String s) {
    return "\""
        + s.replace("\\", "\\\\").replace("\"", "\\\"").replaceAll("[\\x00-\\x1f]", " ")
        + "\"";
  }

  private static synchronized void print(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- reading the output back (test side)
  // ----------------------------------------------------------------

  /** One progress or summary line of the client. */
  public record Progress(
      String type,
      long at,
      int connected,
      long[] verified,
      long[] sent,
      int[] ports,
      long[] lastProgressAt,
      String[] errors,
      boolean[] drained) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Every progress and summary line of a client's output, in order (other lines, e.g. JVM
     * warnings, skipped).
     */
    public static List<Progress> parse(String output) {
      List<Progress> out = new ArrayList<>();
      for (String l : output.lines().toList()) {
        if (!l.startsWith("{\"type\":\"progress\"") && !l.startsWith("{\"type\":\"summary\""))
          continue;
        try {
          JsonNode j = JSON.readTree(l);
          int n = j.get("verified").size();
          long[] verified = new long[n];
          long[] sent = new long[n];
          int[] ports = new int[n];
          long[] last = new long[n];
          String[] errors = new String[n];
          boolean[] drained = new boolean[n];
          for (int i = 0; i < n; i++) {
            verified[i] = j.get("verified").get(i).asLong();
            sent[i] = j.get("sent").get(i).asLong();
            ports[i] = j.get("ports").get(i).asInt();
            last[i] = j.get("lastProgressAt").get(i).asLong();
            errors[i] = j.get("errors").get(i).isNull() ? null : j.get("errors").get(i).asText();
            drained[i] = j.has("drained") && j.get("drained").get(i).asBoolean();
          }
          out.add(
              new Progress(
                  j.get("type").asText(),
                  j.get("at").asLong(),
                  j.get("connected").asInt(),
                  verified,
                  sent,
                  ports,
                  last,
                  errors,
                  drained));
        } catch (JsonProcessingException e) {
          // a line cut short by a kill: skipped
        }
      }
      return out;
    }

    public int connections() {
      return verified.length;
    }

    public long totalVerified() {
      long t = 0;
      for (long v : verified) t += v;
      return t;
    }

    /** Indexes of connections with an error. */
    public List<Integer> failed() {
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < errors.length; i++) if (errors[i] != null) out.add(i);
      return out;
    }

    /** Indexes of connections that verified more than {@code bytes} since {@code before}. */
    public List<Integer> progressedSince(Progress before, long bytes) {
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < verified.length; i++)
        if (verified[i] - before.verified[i] > bytes) out.add(i);
      return out;
    }

    /** A short text: per connection "index:port verified [error]". */
    public String describe() {
      StringBuilder sb =
          new StringBuilder(
              type
                  + " at "
                  + at
                  + ", connected "
                  + connected
                  + ", verified "
                  + totalVerified()
                  + " bytes in all:");
      for (int i = 0; i < verified.length; i++) {
        sb.append(i % 8 == 0 ? "\n  " : "  ")
            .append('#')
            .append(i)
            .append(':')
            .append(ports[i])
            .append(' ')
            .append(verified[i]);
        if (errors[i] != null) sb.append(" [").append(errors[i]).append(']');
      }
      return sb.toString();
    }
  }
}
