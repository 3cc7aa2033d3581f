package dev.carpoperator.agent.config;

import java.net.URI;
import java.net.URISyntaxException;

/** The checks a webhook URL must pass (both front ends use them) and its form for logs. */
public final class WebhookUrl {
  private WebhookUrl() {}

  /**
   * Null when {@code url} is an absolute http(s) URL with a host that Java's HTTP client accepts;
   * else what is wrong.
   */
  public static String problem(String url) {
    if (url == null || url.isBlank()) return "required, e.g. http://192.0.2.50:8080/carp";
    try {
      URI u = new URI(url);
      if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
        return "'" + redacted(url) + "' must be an absolute http:// or https:// URL with a host";
      }
      return null;
    } catch (URISyntaxException e) {
      return "'"
          + redacted(url)
          + "' is not a URL ("
          + e.getReason()
          + " at index "
          + e.getIndex()
          + ")";
    }
  }

  /**
   * The URL without user information and query, which often carry a token (Slack-style and
   * basic-auth receivers): logs and status are read by more people than the Secret would be.
   */
  public static String redacted(String url) {
    String s = url;
    int scheme = s.indexOf("://");
    int hostStart = scheme < 0 ? 0 : scheme + 3;
    int pathStart = indexOfAny(s, hostStart, "/?#");
    int at = s.lastIndexOf('@', pathStart < 0 ? s.length() - 1 : pathStart - 1);
    if (at >= hostStart) s = s.substring(0, hostStart) + "***@" + s.substring(at + 1);
    int query = s.indexOf('?');
    if (query >= 0) s = s.substring(0, query) + "?***";
    return s;
  }

  private static int indexOfAny(String s, int from, String chars) {
    for (int i = from; i < s.length(); i++) if (chars.indexOf(s.charAt(i)) >= 0) return i;
    return -1;
  }
}
