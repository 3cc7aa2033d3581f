package dev.carpoperator.agent.health;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * TCP connect and HTTP(S) GET over plain sockets: one request, {@code Connection: close}, only the
 * status line is read. Not {@code java.net.http.HttpClient}: skipping certificate checks for one
 * check would need a JVM-wide switch (hostname verification is a system property there).
 */
public final class NetworkProbe implements Probe {
  private static final int STATUS_LINE_MAX = 256;

  @Override
  public String run(CheckSpec spec) {
    int timeout = (int) spec.timeoutMillis();
    long deadline = System.nanoTime() + spec.timeoutMillis() * 1_000_000;
    try {
      return switch (spec.target()) {
        case CheckSpec.Tcp t -> {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(t.host(), t.port()), timeout);
          }
          yield null;
        }
        case CheckSpec.Http h -> get(h, timeout, deadline);
      };
    } catch (UnknownHostException e) {
      return "unknown host " + e.getMessage();
    } catch (ConnectException e) {
      return "connection refused";
    } catch (SocketTimeoutException e) {
      return "no answer within " + spec.timeoutMillis() / 1000 + " s";
    } catch (SSLException e) {
      return "TLS: " + e.getMessage();
    } catch (IOException e) {
      return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
  }

  private static String get(CheckSpec.Http h, int timeout, long deadline) throws IOException {
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress(h.host(), h.port()), timeout);
      Socket s = plain;
      if (h.tls()) {
        SSLSocket tls =
            (SSLSocket)
                context(h.insecure())
                    .getSocketFactory()
                    .createSocket(plain, h.host(), h.port(), true);
        SSLParameters p = tls.getSSLParameters();
        if (!h.insecure()) p.setEndpointIdentificationAlgorithm("HTTPS");
        if (!h.host().isEmpty()
            && !Character.isDigit(h.host().charAt(0))
            && !h.host().contains(":")) p.setServerNames(List.of(new SNIHostName(h.host())));
        tls.setSSLParameters(p);
        s = tls;
      }
      s.setSoTimeout(remaining(deadline));
      String hostHeader = h.host().contains(":") ? "[" + h.host() + "]" : h.host();
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET "
                  + h.path()
                  + " HTTP/1.1\r\nHost: "
                  + hostHeader
                  + ":"
                  + h.port()
                  + "\r\nUser-Agent: carp-agent-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String line = statusLine(s.getInputStream(), deadline, s);
      // "HTTP/1.1 200 OK"
      String[] parts = line.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/"))
        return "not an HTTP answer: " + abbreviate(line);
      int code;
      try {
        code = Integer.parseInt(parts[1]);
      } catch (NumberFormatException e) {
        return "not an HTTP answer: " + abbreviate(line);
      }
      return code >= 200 && code < 400 ? null : "HTTP " + code;
    }
  }

  private static String statusLine(InputStream in, long deadline, Socket s) throws IOException {
    StringBuilder b = new StringBuilder();
    while (b.length() < STATUS_LINE_MAX) {
      s.setSoTimeout(remaining(deadline));
      int c = in.read();
      if (c < 0 || c == '\n') break;
      if (c != '\r') b.append((char) c);
    }
    if (b.isEmpty()) throw new IOException("connection closed without an answer");
    return b.toString();
  }

  private static int remaining(long deadline) throws SocketTimeoutException {
    long left = (deadline - System.nanoTime()) / 1_000_000;
    if (left <= 0) throw new SocketTimeoutException();
    return (int) left;
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }

  private static SSLContext context(boolean insecure) throws IOException {
    try {
      if (!insecure) return SSLContext.getDefault();
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(null, new TrustManager[] {TrustAll.INSTANCE}, new SecureRandom());
      return c;
    } catch (GeneralSecurityException e) {
      throw new IOException("TLS unavailable: " + e.getMessage(), e);
    }
  }

  /** insecureSkipVerify: the user asked for encryption without authentication. */
  private enum TrustAll implements X509TrustManager {
    INSTANCE;

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
