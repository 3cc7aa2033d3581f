package dev.carpoperator.agent.net;

class AddressManagerBatchNetnsTest extends AddressManagerNetnsTestBase {
  @Override
  AddressManager.Mode mode() {
    return AddressManager.Mode.BATCH;
  }
}
