package dev.carpoperator.agent.linux;

import dev.carpoperator.agent.net.MacAddress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Applies {@link LoadShareRules} scripts with {@code nft -f -} (one atomic transaction per update)
 * and makes the NIC accept the group MACs with {@code bridge fdb ... self}, which puts the MAC in
 * the NIC's own unicast or multicast address filter (the kernel turns on promiscuous mode for NICs
 * without a unicast filter). Not thread-safe: the engine calls it from its single address worker.
 */
public final class LoadShareDataplane implements LoadSharePlane {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private final List<String> prefix;

  public LoadShareDataplane() {
    this(List.of());
  }

  /** {@code prefix} is prepended to every command, e.g. {@code ip netns exec NS} in tests. */
  public LoadShareDataplane(List<String> prefix) {
    this.prefix = List.copyOf(prefix);
  }

  /** Replaces our tables with the rules for these groups; returns how long nft took. */
  @Override
  public Duration apply(List<LoadShareRules.Group> groups) throws IOException {
    return nft(LoadShareRules.script(groups));
  }

  /** Removes our tables. */
  @Override
  public void clear() throws IOException {
    nft(LoadShareRules.deleteScript());
  }

  /** Adds a MAC to the NIC's address filter (idempotent). */
  @Override
  public void acceptMac(String ifName, MacAddress mac) throws IOException {
    run(
        List.of("bridge", "fdb", "replace", mac.toString(), "dev", ifName, "self", "permanent"),
        null);
  }

  /** Removes a MAC from the NIC's address filter; a missing entry is not an error. */
  @Override
  public void removeMac(String ifName, MacAddress mac) {
    try {
      run(List.of("bridge", "fdb", "del", mac.toString(), "dev", ifName, "self"), null);
    } catch (IOException e) {
      // already gone (or the interface is): nothing to undo
    }
  }

  private Duration nft(String script) throws IOException {
    long t0 = System.nanoTime();
    run(List.of("nft", "-f", "-"), script);
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  private void run(List<String> command, String stdin) throws IOException {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(command);
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException(
          "cannot run "
              + command.getFirst()
              + " (is "
              + (command.getFirst().equals("nft") ? "nftables" : "iproute2")
              + " installed?): "
              + e.getMessage(),
          e);
    }
    CompletableFuture<String> output =
        CompletableFuture.supplyAsync(
            () -> readAll(p.getInputStream()), Thread::startVirtualThread);
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // The command died before reading its input (broken pipe): its exit status and output below
      // say why.
    }
    try {
      if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " gave no answer within " + TIMEOUT);
      }
      String out = output.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).strip();
      if (p.exitValue() != 0) {
        throw new IOException(
            String.join(" ", command)
                + " failed (exit "
                + p.exitValue()
                + "): "
                + out
                + (stdin == null ? "" : "\n--- input ---\n" + stdin));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + command.getFirst(), e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IOException("cannot read the output of " + command.getFirst(), e);
    }
  }

  private static String readAll(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(output unreadable: " + e.getMessage() + ")";
    }
  }
}
