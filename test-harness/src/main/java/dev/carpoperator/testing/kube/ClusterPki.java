package dev.carpoperator.testing.kube;

import dev.carpoperator.testing.netns.Commands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The certificates of a lab cluster with real nodes, made with the {@code openssl} command
 * (Debian's openssl): one CA that signs the API server's serving certificate and the client
 * certificates of the kubelets, kube-proxy and the API server's own client to the kubelets. The API
 * server trusts the CA for client certificates, the kubelets trust it for the API server's, and the
 * controller-manager publishes it to pods as {@code kube-root-ca.crt}. EC P-256 keys: generated in
 * milliseconds. Test material only, in the lab's own directory.
 */
public final class ClusterPki {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;

  private ClusterPki(Path dir) {
    this.dir = dir;
  }

  /** A new CA in {@code dir}. */
  public static ClusterPki create(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ClusterPki pki = new ClusterPki(dir);
    pki.openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        pki.key("ca").toString(),
        "-out",
        pki.cert("ca").toString(),
        "-days",
        "3650",
        "-subj",
        "/CN=carp-lab-ca");
    return pki;
  }

  /** The API server's serving certificate, valid for the given IP addresses and DNS names. */
  public ClusterPki server(String name, List<String> ips, List<String> dnsNames) {
    List<String> san = new ArrayList<>();
    ips.forEach(ip -> san.add("IP:" + ip));
    dnsNames.forEach(d -> san.add("DNS:" + d));
    return sign(name, "/CN=" + name, "serverAuth", String.join(",", san));
  }

  /**
   * A client certificate: {@code user} is the common name (the Kubernetes user), {@code group} the
   * organisation.
   */
  public ClusterPki client(String name, String user, String group) {
    String subject = (group == null ? "" : "/O=" + group) + "/CN=" + user;
    return sign(name, subject, "clientAuth", null);
  }

  private ClusterPki sign(String name, String subject, String usage, String san) {
    Path csr = dir.resolve(name + ".csr");
    openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key(name).toString(),
        "-out",
        csr.toString(),
        "-subj",
        subject);
    Path ext = dir.resolve(name + ".ext");
    try {
      Files.writeString(
          ext,
          "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage="
              + usage
              + "\n"
              + (san == null ? "" : "subjectAltName=" + san + "\n"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    openssl(
        "x509",
        "-req",
        "-in",
        csr.toString(),
        "-CA",
        cert("ca").toString(),
        "-CAkey",
        key("ca").toString(),
        // a random serial of its own: the shared serial file of -CAcreateserial is not safe when
        // the
        // nodes get their certificates in parallel (one openssl read another's half-written file)
        "-set_serial",
        randomSerial(),
        "-out",
        cert(name).toString(),
        "-days",
        "365",
        "-extfile",
        ext.toString());
    return this;
  }

  /** A positive 127-bit serial number in openssl's hex notation (RFC 5280 allows 20 octets). */
  private static String randomSerial() {
    return "0x" + new BigInteger(127, RANDOM).toString(16);
  }

  public Path cert(String name) {
    return dir.resolve(name + ".crt");
  }

  public Path key(String name) {
    return dir.resolve(name + ".key");
  }

  public Path caCert() {
    return cert("ca");
  }

  /**
   * A kubeconfig that authenticates with the client certificate {@code name} to {@code server},
   * trusting the CA.
   */
  public Path kubeconfig(String name, String server) {
    Path file = dir.resolve(name + ".kubeconfig");
    try {
      Files.writeString(
          file,
          """
          apiVersion: v1
          kind: Config
          clusters:
          - name: carp-lab
            cluster:
              server: %s
              certificate-authority-data: %s
          users:
          - name: %s
            user:
              client-certificate-data: %s
              client-key-data: %s
          contexts:
          - name: carp-lab
            context: {cluster: carp-lab, user: %s}
          current-context: carp-lab
          """
              .formatted(
                  server, base64(caCert()), name, base64(cert(name)), base64(key(name)), name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private static String base64(Path file) throws IOException {
    return Base64.getEncoder().encodeToString(Files.readAllBytes(file));
  }

  private void openssl(String... args) {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    var r = Commands.run(Commands.DEFAULT_TIMEOUT, cmd);
    if (!r.ok())
      throw new IllegalStateException(
          "openssl " + String.join(" ", args) + " failed: " + r.stderr().strip());
  }
}
