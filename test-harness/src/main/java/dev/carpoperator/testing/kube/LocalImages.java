package dev.carpoperator.testing.kube;

import dev.carpoperator.testing.netns.Commands;
import dev.carpoperator.testing.netns.ExecResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The project's container images built on this machine with no registry ({@code
 * scripts/build-images.sh --offline --no-maven}, from the jars in operator/target and
 * agent/target), as archives that each lab node imports into its containerd: the operator, the
 * agent and the pause image of the pods' sandboxes.
 *
 * @param dir the directory holding the archives and {@code images.env}
 * @param refs the image references from {@code images.env} (OPERATOR_IMAGE, AGENT_IMAGE,
 *     PAUSE_IMAGE, ...)
 */
public record LocalImages(Path dir, Map<String, String> refs) {

  /**
   * Builds (or finds, when nothing changed) the images with tag {@code tag}; null means the project
   * version.
   */
  public static LocalImages build(String tag) {
    Path root = ControlPlaneBinaries.repositoryRoot();
    List<String> cmd =
        tag == null
            ? List.of(
                "bash",
                root.resolve("scripts/build-images.sh").toString(),
                "--offline",
                "--no-maven")
            : List.of(
                "bash",
                root.resolve("scripts/build-images.sh").toString(),
                "--offline",
                "--no-maven",
                "--tag",
                tag);
    ExecResult r = Commands.run(Duration.ofMinutes(15), cmd);
    if (!r.ok()) {
      throw new IllegalStateException(
          "scripts/build-images.sh --offline failed (exit "
              + r.exitCode()
              + "):\n"
              + tail(r.stderr())
              + tail(r.stdout()));
    }
    List<String> lines = r.stdout().strip().lines().toList();
    return read(Path.of(lines.getLast().strip()));
  }

  /** Reads {@code dir/images.env} (KEY=value lines). */
  public static LocalImages read(Path dir) {
    Map<String, String> refs = new LinkedHashMap<>();
    try {
      for (String l : Files.readAllLines(dir.resolve("images.env"))) {
        int eq = l.indexOf('=');
        if (eq > 0 && !l.startsWith("#"))
          refs.put(l.substring(0, eq).strip(), l.substring(eq + 1).strip().replace("\"", ""));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("no images.env in " + dir, e);
    }
    return new LocalImages(dir, refs);
  }

  public Path operator() {
    return archive("carp-operator.tar");
  }

  public Path agent() {
    return archive("carp-agent.tar");
  }

  public Path pause() {
    return archive("pause.tar");
  }

  /** The lab's Service backend (images/lab-echo): HTTP on 8080, a TCP echo on 9000. */
  public Path echo() {
    return archive("lab-echo.tar");
  }

  public String echoRef() {
    return ref("ECHO_IMAGE");
  }

  public String operatorRef() {
    return ref("OPERATOR_IMAGE");
  }

  public String agentRef() {
    return ref("AGENT_IMAGE");
  }

  public String pauseRef() {
    return ref("PAUSE_IMAGE");
  }

  /** The tag of the operator and agent images. */
  public String tag() {
    String ref = agentRef();
    return ref.substring(ref.lastIndexOf(':') + 1);
  }

  /**
   * The repository part of a reference (without the tag), as the chart's {@code image.repository}
   * wants it.
   */
  public static String repository(String ref) {
    return ref.substring(0, ref.lastIndexOf(':'));
  }

  private String ref(String key) {
    String v = refs.get(key);
    if (v == null)
      throw new IllegalStateException(
          dir.resolve("images.env") + " has no " + key + " (it has " + refs.keySet() + ")");
    return v;
  }

  private Path archive(String name) {
    Path p = dir.resolve(name);
    if (!Files.isRegularFile(p))
      throw new IllegalStateException("image archive " + p + " is missing");
    return p;
  }

  private static String tail(String s) {
    List<String> lines = s.lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())) + "\n";
  }
}
