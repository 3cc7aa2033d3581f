package dev.carpoperator.api.crd;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.carpoperator.api.v1alpha1.AgentLimits;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * The committed CRDs carry the defaults and ranges of {@link AgentLimits} (the annotations
 * reference the constants; this guards against a literal creeping back into one of them).
 */
class AgentLimitsInCrdsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static JsonNode spec(String crd) throws IOException {
    return YAML.readTree(CrdsUpToDateTest.COMMITTED.resolve(crd).toFile())
        .at("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties");
  }

  private static void range(JsonNode field, int min, int max) {
    assertThat(field.get("minimum").asInt()).as("%s minimum", field).isEqualTo(min);
    assertThat(field.get("maximum").asInt()).as("%s maximum", field).isEqualTo(max);
  }

  @Test
  void virtualAddress() throws IOException {
    JsonNode s = spec("virtualaddresses.carp-operator.dev.yaml");
    range(s.get("vhid"), AgentLimits.VHID_MIN, AgentLimits.VHID_MAX);
    range(s.get("advbase"), AgentLimits.ADVBASE_MIN, AgentLimits.ADVBASE_MAX);
    assertThat(s.at("/advbase/default").asInt()).isEqualTo(AgentLimits.ADVBASE_DEFAULT);
    range(s.get("advskew"), AgentLimits.ADVSKEW_MIN, AgentLimits.ADVSKEW_MAX);
    assertThat(s.at("/advskew/default").asInt()).isEqualTo(AgentLimits.ADVSKEW_DEFAULT);
    range(
        s.at("/nodes/items/properties/advskew"), AgentLimits.ADVSKEW_MIN, AgentLimits.ADVSKEW_MAX);
    range(s.at("/carpNodes/items/properties/vhid"), AgentLimits.VHID_MIN, AgentLimits.VHID_MAX);
    assertThat(s.at("/carpNodes/maxItems").asInt()).isEqualTo(AgentLimits.CARP_NODES_MAX);
    assertThat(s.at("/peers/maxItems").asInt()).isEqualTo(AgentLimits.PEERS_MAX);
  }

  @Test
  void firewallCluster() throws IOException {
    JsonNode s = spec("firewallclusters.carp-operator.dev.yaml");
    JsonNode sync = s.at("/sync/properties");
    range(
        sync.get("maxDelayMillis"),
        AgentLimits.SYNC_MAX_DELAY_MILLIS_MIN,
        AgentLimits.SYNC_MAX_DELAY_MILLIS_MAX);
    assertThat(sync.at("/maxDelayMillis/default").asInt())
        .isEqualTo(AgentLimits.SYNC_MAX_DELAY_MILLIS_DEFAULT);
    range(
        sync.get("bulkUpdateTimeoutSeconds"),
        AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_MIN,
        AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_MAX);
    assertThat(sync.at("/bulkUpdateTimeoutSeconds/default").asInt())
        .isEqualTo(AgentLimits.SYNC_BULK_TIMEOUT_SECONDS_DEFAULT);
    assertThat(sync.at("/peers/maxItems").asInt()).isEqualTo(AgentLimits.PEERS_MAX);
    range(
        s.at("/demotion/properties/maintenance/items/properties/count"),
        AgentLimits.DEMOTION_MIN,
        AgentLimits.DEMOTION_MAX);
    JsonNode port = s.at("/agent/properties/metricsPort");
    range(port, AgentLimits.PORT_MIN, AgentLimits.PORT_MAX);
    assertThat(port.get("default").asInt()).isEqualTo(AgentLimits.METRICS_PORT_DEFAULT);
    JsonNode hook = s.at("/notifications/properties/webhook/properties");
    range(
        hook.get("timeoutSeconds"),
        AgentLimits.WEBHOOK_TIMEOUT_SECONDS_MIN,
        AgentLimits.WEBHOOK_TIMEOUT_SECONDS_MAX);
    assertThat(hook.at("/timeoutSeconds/default").asInt())
        .isEqualTo(AgentLimits.WEBHOOK_TIMEOUT_SECONDS_DEFAULT);
    range(hook.get("retries"), AgentLimits.WEBHOOK_RETRIES_MIN, AgentLimits.WEBHOOK_RETRIES_MAX);
    assertThat(hook.at("/retries/default").asInt()).isEqualTo(AgentLimits.WEBHOOK_RETRIES_DEFAULT);
  }
}
