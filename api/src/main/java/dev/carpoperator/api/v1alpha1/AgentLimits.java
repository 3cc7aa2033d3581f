package dev.carpoperator.api.v1alpha1;

/**
 * The defaults and ranges of what an agent runs, defined once: the CRD annotations of this package
 * reference them (so the generated schema carries them), the agent's standalone YAML validator and
 * its Kubernetes plan fill in and check the same numbers, and the operator uses the same defaults.
 * The {@code *_TEXT} twins are the same values as the strings {@code @Default} takes.
 */
public final class AgentLimits {
  /** vhid: OpenBSD's 1-255 (it is the last byte of the virtual MAC). */
  public static final int VHID_MIN = 1;

  public static final int VHID_MAX = 255;

  /** advbase in seconds; 0 only with the fast profile, 1 and up with the BSD one. */
  public static final int ADVBASE_MIN = 0;

  public static final int ADVBASE_BSD_MIN = 1;
  public static final int ADVBASE_MAX = 255;
  public static final int ADVBASE_DEFAULT = 1;
  public static final String ADVBASE_DEFAULT_TEXT = "" + ADVBASE_DEFAULT;

  /** The fast profile's advbase: its interval is advskew/256 s. */
  public static final int ADVBASE_FAST = 0;

  /** advskew; at least 1 with the fast profile (the interval would be 0). */
  public static final int ADVSKEW_MIN = 0;

  public static final int ADVSKEW_FAST_MIN = 1;
  public static final int ADVSKEW_MAX = 254;
  public static final int ADVSKEW_DEFAULT = 0;
  public static final String ADVSKEW_DEFAULT_TEXT = "" + ADVSKEW_DEFAULT;

  /** Load balancing: at least two carpNodes vhids, at most OpenBSD's CARP_MAXNODES. */
  public static final int CARP_NODES_MIN = 2;

  public static final int CARP_NODES_MAX = 32;

  /** Unicast advert peers (OpenBSD carppeer) and sync peers. */
  public static final int PEERS_MAX = 16;

  /** Maintenance demotion (OpenBSD carpdemote), as the advertised demotion count is one byte. */
  public static final int DEMOTION_MIN = 0;

  public static final int DEMOTION_MAX = 255;

  /** State sync: batching delay of a state change, in milliseconds. */
  public static final int SYNC_MAX_DELAY_MILLIS_MIN = 0;

  public static final int SYNC_MAX_DELAY_MILLIS_MAX = 1000;
  public static final int SYNC_MAX_DELAY_MILLIS_DEFAULT = 50;
  public static final String SYNC_MAX_DELAY_MILLIS_DEFAULT_TEXT =
      "" + SYNC_MAX_DELAY_MILLIS_DEFAULT;

  /**
   * State sync: SCHED_RR priority of the sync threads (conntrackd's Scheduler); 0, the default,
   * leaves them at normal priority.
   */
  public static final int SYNC_REALTIME_PRIORITY_MIN = 0;

  public static final int SYNC_REALTIME_PRIORITY_MAX = 99;

  /** State sync: how long a starting node waits for the bulk update, in seconds. */
  public static final int SYNC_BULK_TIMEOUT_SECONDS_MIN = 1;

  public static final int SYNC_BULK_TIMEOUT_SECONDS_MAX = 3600;
  public static final int SYNC_BULK_TIMEOUT_SECONDS_DEFAULT = 30;
  public static final String SYNC_BULK_TIMEOUT_SECONDS_DEFAULT_TEXT =
      "" + SYNC_BULK_TIMEOUT_SECONDS_DEFAULT;

  /** Webhook notifications: seconds per attempt, and retries after a failed one. */
  public static final int WEBHOOK_TIMEOUT_SECONDS_MIN = 1;

  public static final int WEBHOOK_TIMEOUT_SECONDS_MAX = 60;
  public static final int WEBHOOK_TIMEOUT_SECONDS_DEFAULT = 5;
  public static final String WEBHOOK_TIMEOUT_SECONDS_DEFAULT_TEXT =
      "" + WEBHOOK_TIMEOUT_SECONDS_DEFAULT;
  public static final int WEBHOOK_RETRIES_MIN = 0;
  public static final int WEBHOOK_RETRIES_MAX = 10;
  public static final int WEBHOOK_RETRIES_DEFAULT = 3;
  public static final String WEBHOOK_RETRIES_DEFAULT_TEXT = "" + WEBHOOK_RETRIES_DEFAULT;

  /** TCP ports, and the agent's metrics and health port in Kubernetes. */
  public static final int PORT_MIN = 1;

  public static final int PORT_MAX = 65535;
  public static final int METRICS_PORT_DEFAULT = 9402;
  public static final String METRICS_PORT_DEFAULT_TEXT = "" + METRICS_PORT_DEFAULT;

  /** Health checks (VirtualAddress.spec.healthChecks): how many, how often, how heavy. */
  public static final int HEALTH_CHECKS_MAX = 8;

  public static final int HEALTH_PERIOD_SECONDS_MIN = 1;
  public static final int HEALTH_PERIOD_SECONDS_MAX = 300;
  public static final int HEALTH_PERIOD_SECONDS_DEFAULT = 2;
  public static final String HEALTH_PERIOD_SECONDS_DEFAULT_TEXT =
      "" + HEALTH_PERIOD_SECONDS_DEFAULT;
  public static final int HEALTH_TIMEOUT_SECONDS_MIN = 1;
  public static final int HEALTH_TIMEOUT_SECONDS_MAX = 60;
  public static final int HEALTH_TIMEOUT_SECONDS_DEFAULT = 1;
  public static final String HEALTH_TIMEOUT_SECONDS_DEFAULT_TEXT =
      "" + HEALTH_TIMEOUT_SECONDS_DEFAULT;
  public static final int HEALTH_THRESHOLD_MIN = 1;
  public static final int HEALTH_THRESHOLD_MAX = 100;
  public static final int HEALTH_FAILURE_THRESHOLD_DEFAULT = 3;
  public static final String HEALTH_FAILURE_THRESHOLD_DEFAULT_TEXT =
      "" + HEALTH_FAILURE_THRESHOLD_DEFAULT;
  public static final int HEALTH_SUCCESS_THRESHOLD_DEFAULT = 1;
  public static final String HEALTH_SUCCESS_THRESHOLD_DEFAULT_TEXT =
      "" + HEALTH_SUCCESS_THRESHOLD_DEFAULT;

  /**
   * Demotion added while a check fails. 1 is enough to move the address to a healthy node (a backup
   * takes over from a master with a higher demotion, preempt or not); larger weights rank nodes
   * that fail several checks.
   */
  public static final int HEALTH_WEIGHT_MIN = 1;

  public static final int HEALTH_WEIGHT_MAX = 255;
  public static final int HEALTH_WEIGHT_DEFAULT = 1;
  public static final String HEALTH_WEIGHT_DEFAULT_TEXT = "" + HEALTH_WEIGHT_DEFAULT;

  /** The node itself: agents run in the host's network namespace. */
  public static final String HEALTH_HOST_DEFAULT = "127.0.0.1";

  private AgentLimits() {}

  /** Whether {@code value} lies in {@code [min, max]}. */
  public static boolean within(long value, long min, long max) {
    return value >= min && value <= max;
  }
}
