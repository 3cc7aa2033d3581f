package dev.carpoperator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/** How much of a pool is used, as MetalLB's IPAddressPool status reports it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AddressPoolStatus {
  @JsonPropertyDescription("IPv4 addresses held by Services.")
  private Long assignedIPv4;

  @JsonPropertyDescription("IPv6 addresses held by Services.")
  private Long assignedIPv6;

  @JsonPropertyDescription(
      "IPv4 addresses still free (addresses of VirtualAddresses written by hand count as used).")
  private Long availableIPv4;

  @JsonPropertyDescription(
      "IPv6 addresses still free, at most 2^63-1 (a /64 has more than a long can count).")
  private Long availableIPv6;

  public Long getAssignedIPv4() {
    return assignedIPv4;
  }

  public void setAssignedIPv4(Long v) {
    this.assignedIPv4 = v;
  }

  public Long getAssignedIPv6() {
    return assignedIPv6;
  }

  public void setAssignedIPv6(Long v) {
    this.assignedIPv6 = v;
  }

  public Long getAvailableIPv4() {
    return availableIPv4;
  }

  public void setAvailableIPv4(Long v) {
    this.availableIPv4 = v;
  }

  public Long getAvailableIPv6() {
    return availableIPv6;
  }

  public void setAvailableIPv6(Long v) {
    this.availableIPv6 = v;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AddressPoolStatus s
        && Objects.equals(assignedIPv4, s.assignedIPv4)
        && Objects.equals(assignedIPv6, s.assignedIPv6)
        && Objects.equals(availableIPv4, s.availableIPv4)
        && Objects.equals(availableIPv6, s.availableIPv6);
  }

  @Override
  public int hashCode() {
    return Objects.hash(assignedIPv4, assignedIPv6, availableIPv4, availableIPv6);
  }
}
