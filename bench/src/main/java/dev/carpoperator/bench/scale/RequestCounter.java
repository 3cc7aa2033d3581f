package dev.carpoperator.bench.scale;

import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the requests a fabric8 client sends (installed as an HTTP interceptor on the operator's
 * client), by verb and resource, e.g. {@code patch virtualaddresses/status} or {@code watch
 * virtualaddresses}. A watch counts once, when it is opened; the events it then streams are not
 * requests. Retries count again, as the API server sees them.
 */
final class RequestCounter implements Interceptor {
  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

  @Override
  public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
    counts
        .computeIfAbsent(
            key(request.method(), request.uri().getPath(), request.uri().getQuery()),
            k -> new LongAdder())
        .increment();
  }

  /** A copy of the counts so far, sorted by key. */
  Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  static long total(Map<String, Long> counts) {
    return counts.values().stream().mapToLong(Long::longValue).sum();
  }

  /** {@code after - before}, per key, leaving out keys that did not change. */
  static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Long> out = new TreeMap<>();
    after.forEach(
        (k, v) -> {
          long d = v - before.getOrDefault(k, 0L);
          if (d != 0) out.put(k, d);
        });
    return out;
  }

  /**
   * "verb resource[/subresource]" from the request: paths are
   * /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] or
   * /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]; a GET is a watch, a list or a get.
   */
  static String key(String method, String path, String query) {
    List<String> p = List.of(path.replaceAll("^/+", "").split("/"));
    int i =
        p.isEmpty()
            ? 0
            : p.getFirst().equals("api") ? 2 : p.getFirst().equals("apis") ? 3 : p.size();
    if (i < p.size() && p.get(i).equals("namespaces") && i + 2 < p.size())
      i += 2; // a namespaced resource, not a Namespace
    String resource = i < p.size() ? p.get(i) : path;
    boolean named = i + 1 < p.size();
    String sub = i + 2 < p.size() ? "/" + p.get(i + 2) : "";
    boolean watch = query != null && query.contains("watch=true");
    String verb =
        switch (method) {
          case "GET" -> watch ? "watch" : named ? "get" : "list";
          case "POST" -> "create";
          case "PUT" -> "update";
          case "PATCH" -> "patch";
          case "DELETE" -> "delete";
          default -> method.toLowerCase(java.util.Locale.ROOT);
        };
    return verb + " " + resource + sub;
  }
}
