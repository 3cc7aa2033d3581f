package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * One built-in action run on a state change (what OpenBSD setups do with ifstated), needing no
 * shell. Exactly one of link, address or route is set.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "[has(self.link), has(self.address), has(self.route)].filter(x, x).size() == 1",
    message = "each action sets exactly one of link, address or route")
public class StateAction {
  @JsonPropertyDescription("Set a link up or down (e.g. the bridge of a bridging firewall).")
  private LinkAction link;

  @JsonPropertyDescription("Add or remove an address.")
  private AddressAction address;

  @JsonPropertyDescription("Add or remove a route.")
  private RouteAction route;

  public LinkAction getLink() {
    return link;
  }

  public void setLink(LinkAction link) {
    this.link = link;
  }

  public AddressAction getAddress() {
    return address;
  }

  public void setAddress(AddressAction address) {
    this.address = address;
  }

  public RouteAction getRoute() {
    return route;
  }

  public void setRoute(RouteAction route) {
    this.route = route;
  }

  public static StateAction link(String name, boolean up) {
    StateAction a = new StateAction();
    a.link = new LinkAction();
    a.link.name = name;
    a.link.state = up ? "up" : "down";
    return a;
  }

  public static class LinkAction {
    @Required
    @Pattern("^[a-zA-Z0-9_.:@-]{1,15}$")
    @JsonPropertyDescription("Interface name.")
    private String name;

    @Required
    @Pattern("^(up|down)$")
    @JsonPropertyDescription("up or down.")
    private String state;

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public String getState() {
      return state;
    }

    public void setState(String state) {
      this.state = state;
    }
  }

  public static class AddressAction {
    @Required
    @JsonProperty("interface")
    @Pattern("^[a-zA-Z0-9_.:@-]{1,15}$")
    @JsonPropertyDescription("Interface name.")
    private String interfaceName;

    @Required
    @Size(max = 64)
    @ValidationRule(
        value = "isCIDR(self)",
        message = "address must be an IPv4 or IPv6 address with its prefix length")
    @JsonPropertyDescription("Address with prefix length.")
    private String address;

    @Default("true")
    @JsonPropertyDescription("true to add, false to remove.")
    private Boolean present = true;

    public String getInterfaceName() {
      return interfaceName;
    }

    public void setInterfaceName(String interfaceName) {
      this.interfaceName = interfaceName;
    }

    public String getAddress() {
      return address;
    }

    public void setAddress(String address) {
      this.address = address;
    }

    public Boolean getPresent() {
      return present;
    }

    public void setPresent(Boolean present) {
      this.present = present;
    }
  }

  @ValidationRule(
      value = "has(self.via) || has(self.interface)",
      message = "a route needs via, interface or both")
  public static class RouteAction {
    @Required
    @Size(max = 64)
    @ValidationRule(
        value = "isCIDR(self)",
        message = "destination must be a prefix such as 198.51.100.0/24 or 0.0.0.0/0")
    @JsonPropertyDescription("Destination prefix.")
    private String destination;

    @Size(max = 45)
    @ValidationRule(value = "isIP(self)", message = "via must be a plain IPv4 or IPv6 address")
    @JsonPropertyDescription("Next hop.")
    private String via;

    @JsonProperty("interface")
    @Pattern("^[a-zA-Z0-9_.:@-]{1,15}$")
    @JsonPropertyDescription("Outgoing interface.")
    private String interfaceName;

    @Default("true")
    @JsonPropertyDescription("true to add, false to remove.")
    private Boolean present = true;

    public String getDestination() {
      return destination;
    }

    public void setDestination(String destination) {
      this.destination = destination;
    }

    public String getVia() {
      return via;
    }

    public void setVia(String via) {
      this.via = via;
    }

    public String getInterfaceName() {
      return interfaceName;
    }

    public void setInterfaceName(String interfaceName) {
      this.interfaceName = interfaceName;
    }

    public Boolean getPresent() {
      return present;
    }

    public void setPresent(Boolean present) {
      this.present = present;
    }
  }
}
