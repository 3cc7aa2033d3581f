package dev.carpoperator.testing.kube;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Finds the control-plane binaries built by {@code scripts/build-control-plane.sh}. */
public final class ControlPlaneBinaries {
  static final String[] REQUIRED = {"etcd", "kube-apiserver", "kubectl"};

  private ControlPlaneBinaries() {}

  /**
   * The directory from {@code CARP_CONTROL_PLANE_BIN}, or the one the build script reports. Fails
   * with the command to run when the binaries are missing: tests that need the real control plane
   * never skip silently.
   */
  public static Path locate() {
    String fromEnv = System.getenv("CARP_CONTROL_PLANE_BIN");
    Path dir = fromEnv != null && !fromEnv.isBlank() ? Path.of(fromEnv) : askBuildScript();
    for (String b : REQUIRED) {
      if (!Files.isExecutable(dir.resolve(b))) {
        throw new IllegalStateException(
            "control-plane binary "
                + dir.resolve(b)
                + " is missing: run scripts/build-control-plane.sh "
                + "(it builds kube-apiserver, etcd and kubectl from Go modules; a cold build takes about 5 minutes)");
      }
    }
    return dir;
  }

  /**
   * etcd and kube-apiserver of the oldest Kubernetes the chart claims ({@code
   * scripts/build-control-plane.sh --oldest}), for the tests that apply the CRDs and install the
   * chart there.
   */
  public static Path oldest() {
    Path dir = askBuildScript("--oldest");
    for (String b : new String[] {"etcd", "kube-apiserver"}) {
      if (!Files.isExecutable(dir.resolve(b))) {
        throw new IllegalStateException(
            dir.resolve(b)
                + " is missing: run scripts/build-control-plane.sh --oldest (./carp deps runs it; "
                + "it builds the oldest supported kube-apiserver from Go modules, a few minutes cold)");
      }
    }
    return dir;
  }

  private static Path askBuildScript(String... options) {
    Path script = repositoryRoot().resolve("scripts/build-control-plane.sh");
    try {
      List<String> cmd = new java.util.ArrayList<>(List.of("bash", script.toString(), "--print"));
      cmd.addAll(List.of(options));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
      String out = new String(p.getInputStream().readAllBytes()).strip();
      if (p.waitFor() != 0 || out.isEmpty())
        throw new IllegalStateException(script + " --print failed");
      return Path.of(out);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + script, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The repository root: the nearest parent directory holding scripts/build-control-plane.sh. */
  public static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("scripts/build-control-plane.sh")))
      dir = dir.getParent();
    if (dir == null)
      throw new IllegalStateException(
          "not inside the carp-operator repository (no scripts/build-control-plane.sh above "
              + Path.of("").toAbsolutePath()
              + ")");
    return dir;
  }
}
