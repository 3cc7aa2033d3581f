package dev.carpoperator.agent.net;

class AddressManagerPerCommandNetnsTest extends AddressManagerNetnsTestBase {
  @Override
  AddressManager.Mode mode() {
    return AddressManager.Mode.PER_COMMAND;
  }
}
