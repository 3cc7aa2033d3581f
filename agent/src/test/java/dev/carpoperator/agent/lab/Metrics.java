package dev.carpoperator.agent.lab;

import dev.carpoperator.testing.netns.NetnsLab;

/** Scrapes an agent's /metrics from inside its namespace (bash's /dev/tcp: no curl needed). */
final class Metrics {
  private Metrics() {}

  static String scrape(NetnsLab.Host host, int port) {
    return host.exec(
            "bash",
            "-c",
            "exec 3<>/dev/tcp/127.0.0.1/"
                + port
                + " && printf 'GET /metrics HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && cat <&3")
        .stdout();
  }
}
