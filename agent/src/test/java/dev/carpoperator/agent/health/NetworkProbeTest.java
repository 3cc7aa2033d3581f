package dev.carpoperator.agent.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probe against real sockets on loopback. */
class NetworkProbeTest {
  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  final NetworkProbe probe = new NetworkProbe();
  ServerSocket server;
  Thread serving;

  @AfterEach
  void close() throws IOException {
    if (serving != null) serving.interrupt();
    if (server != null) server.close();
  }

  static CheckSpec tcp(int port) {
    return new CheckSpec("t", new CheckSpec.Tcp("127.0.0.1", port), 1000, 1000, 1, 1, 1);
  }

  static CheckSpec http(boolean tls, int port, String path, boolean insecure) {
    return new CheckSpec(
        "h", new CheckSpec.Http(tls, "127.0.0.1", port, path, insecure), 1000, 1000, 1, 1, 1);
  }

  /** Answers every connection with {@code answer} after reading the request head. */
  void serve(ServerSocket s, String answer) {
    server = s;
    serving =
        Thread.ofVirtual()
            .start(
                () -> {
                  while (!s.isClosed()) {
                    try (Socket c = s.accept()) {
                      InputStream in = c.getInputStream();
                      byte[] head = new byte[4];
                      int n = 0;
                      while (n < 4
                          || !new String(head, StandardCharsets.US_ASCII).equals("\r\n\r\n")) {
                        int b = in.read();
                        if (b < 0) break;
                        System.arraycopy(head, 1, head, 0, 3);
                        head[3] = (byte) b;
                        n++;
                      }
                      if (answer == null) continue; // close without a word
                      OutputStream out = c.getOutputStream();
                      out.write(answer.getBytes(StandardCharsets.US_ASCII));
                      out.flush();
                    } catch (IOException e) {
                      // closed
                    }
                  }
                });
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
      return s.getLocalPort();
    }
  }

  @Test
  void tcpPassesWhenSomethingListensAndSaysRefusedOtherwise() throws IOException {
    ServerSocket s = new ServerSocket(0, 50, LOOPBACK);
    serve(s, "");
    assertThat(probe.run(tcp(s.getLocalPort()))).isNull();
    assertThat(probe.run(tcp(freePort()))).isEqualTo("connection refused");
  }

  @Test
  void httpPassesOn2xxAnd3xxAndNamesTheStatusOtherwise() throws IOException {
    ServerSocket s = new ServerSocket(0, 50, LOOPBACK);
    serve(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assertThat(probe.run(http(false, s.getLocalPort(), "/healthz", false))).isNull();
    close();

    s = new ServerSocket(0, 50, LOOPBACK);
    serve(s, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
    assertThat(probe.run(http(false, s.getLocalPort(), "/", false))).isEqualTo("HTTP 503");
    close();

    s = new ServerSocket(0, 50, LOOPBACK);
    serve(s, "SSH-2.0-OpenSSH_9.2\r\n");
    assertThat(probe.run(http(false, s.getLocalPort(), "/", false)))
        .startsWith("not an HTTP answer: SSH-2.0");
    close();

    s = new ServerSocket(0, 50, LOOPBACK);
    serve(s, null);
    assertThat(probe.run(http(false, s.getLocalPort(), "/", false)))
        .isEqualTo("connection closed without an answer");
  }

  @Test
  void aServerThatNeverAnswersFailsWithinTheTimeout() throws IOException {
    server = new ServerSocket(0, 50, LOOPBACK); // accepted by the kernel, never read
    assertThat(probe.run(http(false, server.getLocalPort(), "/", false)))
        .isEqualTo("no answer within 1 s");
  }

  /**
   * HTTPS with a self-signed certificate (as a kube-apiserver's, signed by the cluster's own CA):
   * refused unless insecureSkipVerify, then passing.
   */
  @Test
  void httpsVerifiesCertificatesUnlessToldToSkip(@TempDir Path dir) throws Exception {
    Path store = dir.resolve("server.p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-keyalg",
                "EC",
                "-alias",
                "server",
                "-dname",
                "CN=localhost",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                store.toString(),
                "-storepass",
                "changeit")
            .redirectErrorStream(true)
            .start();
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(keytool.exitValue())
        .as(new String(keytool.getInputStream().readAllBytes()))
        .isZero();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    SSLServerSocket s =
        (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, LOOPBACK);
    serve(s, "HTTP/1.1 200 OK\r\n\r\n");

    assertThat(probe.run(http(true, s.getLocalPort(), "/livez", false))).startsWith("TLS: ");
    assertThat(probe.run(http(true, s.getLocalPort(), "/livez", true))).isNull();
  }
}
