package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.Objects;

/** Passes when a TCP connection opens (keepalived's TCP_CHECK). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TcpCheck {
  @Default(AgentLimits.HEALTH_HOST_DEFAULT)
  @Size(min = 1, max = 253)
  @JsonPropertyDescription(
      "Address or host name to connect to, as seen from the node (agents use the host's network). Default 127.0.0.1, the node itself.")
  private String host = AgentLimits.HEALTH_HOST_DEFAULT;

  @Required
  @Min(AgentLimits.PORT_MIN)
  @Max(AgentLimits.PORT_MAX)
  @JsonPropertyDescription("TCP port.")
  private Integer port;

  public TcpCheck() {}

  public TcpCheck(String host, int port) {
    this.host = host;
    this.port = port;
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

  @Override
  public boolean equals(Object o) {
    return o instanceof TcpCheck t && Objects.equals(host, t.host) && Objects.equals(port, t.port);
  }

  @Override
  public int hashCode() {
    return Objects.hash(host, port);
  }
}
