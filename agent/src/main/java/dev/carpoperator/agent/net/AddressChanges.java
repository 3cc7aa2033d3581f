package dev.carpoperator.agent.net;

import java.io.IOException;

/**
 * Adds and removes addresses on a NIC: the port the CARP engine's address worker changes the host
 * through. {@link AddressManager} (iproute2) is the real one; tests record the calls instead.
 */
public interface AddressChanges {
  /**
   * Adds {@code cidr} ("192.0.2.10/24") to {@code ifName}; an address already there is no error.
   */
  void add(String ifName, String cidr) throws IOException;

  /** Removes {@code cidr} from {@code ifName}; an address already gone is no error. */
  void remove(String ifName, String cidr) throws IOException;
}
