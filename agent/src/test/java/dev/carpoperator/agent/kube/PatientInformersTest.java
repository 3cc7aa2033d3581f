package dev.carpoperator.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

/** Which failed first lists are retried (AgentsOnRealApiServerTest shows the waiting itself). */
class PatientInformersTest {
  static KubernetesClientException http(int code) {
    return new KubernetesClientException("failure", code, null);
  }

  @Test
  void anUnreachableOrOverloadedApiServerIsWaitedFor() {
    assertThat(PatientInformers.worthWaitingFor(http(429))).isTrue(); // storage (re)initializing
    assertThat(PatientInformers.worthWaitingFor(http(503))).isTrue();
    assertThat(PatientInformers.worthWaitingFor(http(500))).isTrue();
    assertThat(PatientInformers.worthWaitingFor(http(0))).isTrue(); // no HTTP answer at all
    assertThat(PatientInformers.worthWaitingFor(new ConnectException("Connection refused")))
        .isTrue();
  }

  @Test
  void aRefusalThatWaitingCannotFixEndsTheStart() {
    assertThat(PatientInformers.worthWaitingFor(http(401))).isFalse();
    assertThat(PatientInformers.worthWaitingFor(http(403))).isFalse(); // RBAC: fix the Role
    assertThat(PatientInformers.worthWaitingFor(http(404))).isFalse(); // the CRD is not installed
    // as the informer reports it: the API server's answer is the cause of a code-less wrapper
    assertThat(
            PatientInformers.worthWaitingFor(
                new KubernetesClientException("listSyncAndWatch failed", http(400))))
        .isFalse();
    assertThat(
            PatientInformers.worthWaitingFor(
                new KubernetesClientException("listSyncAndWatch failed", http(503))))
        .isTrue();
  }
}
