package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.Objects;

/**
 * Passes when {@code GET path} answers 200-399, as a Kubernetes httpGet probe (keepalived's
 * HTTP_GET, kube-vip's control-plane check of {@code /livez}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class HttpCheck {
  /** Plain HTTP or TLS. */
  public enum Scheme {
    @JsonProperty("HTTP")
    HTTP,
    @JsonProperty("HTTPS")
    HTTPS
  }

  @Default("HTTP")
  @JsonPropertyDescription("HTTP or HTTPS.")
  private Scheme scheme = Scheme.HTTP;

  @Default(AgentLimits.HEALTH_HOST_DEFAULT)
  @Size(min = 1, max = 253)
  @JsonPropertyDescription(
      "Address or host name to connect to, as seen from the node (agents use the host's network). Default 127.0.0.1, the node itself.")
  private String host = AgentLimits.HEALTH_HOST_DEFAULT;

  @Required
  @Min(AgentLimits.PORT_MIN)
  @Max(AgentLimits.PORT_MAX)
  @JsonPropertyDescription("TCP port, e.g. 10256 for kube-proxy's /healthz, 6443 for /livez.")
  private Integer port;

  @Default("/")
  @Size(max = 1024)
  @Pattern("^/[!-~]*$")
  @JsonPropertyDescription("Path and query, starting with /.")
  private String path = "/";

  @Default("false")
  @JsonPropertyDescription(
      "With HTTPS, accept any certificate and host name: a kube-apiserver's certificate is signed by the cluster's own CA, which the agent's trust store does not hold. The connection is still encrypted.")
  private Boolean insecureSkipVerify = Boolean.FALSE;

  public HttpCheck() {}

  public HttpCheck(Scheme scheme, String host, int port, String path) {
    this.scheme = scheme;
    this.host = host;
    this.port = port;
    this.path = path;
  }

  public Scheme getScheme() {
    return scheme;
  }

  public void setScheme(Scheme scheme) {
    this.scheme = scheme;
  }

  public String getHost() {
    return host;
  }

  public void setHost(String host) {
    this.host = host;
  }

  public Integer getPort() {
    return port;
  }

  public void setPort(Integer port) {
    this.port = port;
  }

  public String getPath() {
    return path;
  }

  public void setPath(String path) {
    this.path = path;
  }

  public Boolean getInsecureSkipVerify() {
    return insecureSkipVerify;
  }

  public void setInsecureSkipVerify(Boolean insecureSkipVerify) {
    this.insecureSkipVerify = insecureSkipVerify;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HttpCheck h
        && scheme == h.scheme
        && Objects.equals(host, h.host)
        && Objects.equals(port, h.port)
        && Objects.equals(path, h.path)
        && Objects.equals(insecureSkipVerify, h.insecureSkipVerify);
  }

  @Override
  public int hashCode() {
    return Objects.hash(scheme, host, port, path, insecureSkipVerify);
  }
}
