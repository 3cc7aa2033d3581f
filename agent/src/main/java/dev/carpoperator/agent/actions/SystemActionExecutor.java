package dev.carpoperator.agent.actions;

import dev.carpoperator.agent.net.AddressManager;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs actions on this host: built-ins through {@link AddressManager} (iproute2), commands as child
 * processes.
 *
 * <p>Addresses and routes added by actions are not put in the engine's address record: an action is
 * an explicit instruction of the user (add on onMaster, remove on onBackup), done exactly as
 * written, and the agent never removes them on its own at start. An address an action adds counts
 * as one of the host's own, so a vhid with the same address is refused.
 */
public final class SystemActionExecutor implements ActionExecutor {
  /** Output of a failed command kept for the log. */
  private static final int OUTPUT_LIMIT = 2048;

  private final AddressManager ip;

  public SystemActionExecutor(AddressManager ip) {
    this.ip = ip;
  }

  @Override
  public void execute(Action action, ActionContext context) throws Exception {
    switch (action) {
      case Action.Link l -> ip.setLinkUp(l.name(), l.up());
      case Action.Address a -> {
        if (a.present()) ip.add(a.interfaceName(), a.cidr());
        else ip.remove(a.interfaceName(), a.cidr());
      }
      case Action.Route r -> {
        if (r.present()) ip.addRoute(r.destination(), r.via(), r.interfaceName());
        else ip.removeRoute(r.destination(), r.via(), r.interfaceName());
      }
      case Action.Command c -> command(c, context);
    }
  }

  private static void command(Action.Command c, ActionContext context) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(c.argv())
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(context.environment());
    Process p = pb.start();
    CompletableFuture<String> output =
        CompletableFuture.supplyAsync(() -> head(p.getInputStream()), Thread::startVirtualThread);
    try {
      if (!p.waitFor(c.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p);
        throw new TimeoutException("no exit within " + c.timeout().toSeconds() + " s (killed)");
      }
    } catch (InterruptedException e) {
      kill(p);
      throw e;
    }
    if (p.exitValue() != 0) {
      String out = output.get(1, TimeUnit.SECONDS).strip();
      throw new IOException("exit status " + p.exitValue() + (out.isEmpty() ? "" : ": " + out));
    }
  }

  /** The children too: a script's sleep would otherwise outlive it and keep the pipe open. */
  private static void kill(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }

  /** Reads everything (so the child never blocks on a full pipe) and keeps the first bytes. */
  private static String head(InputStream in) {
    byte[] keep = new byte[OUTPUT_LIMIT];
    int kept = 0;
    byte[] buf = new byte[4096];
    try (in) {
      int n;
      while ((n = in.read(buf)) > 0) {
        int take = Math.min(n, OUTPUT_LIMIT - kept);
        System.arraycopy(buf, 0, keep, kept, take);
        kept += take;
      }
    } catch (IOException e) {
      // the process is gone; keep what we have
    }
    return new String(keep, 0, kept, StandardCharsets.UTF_8);
  }
}
