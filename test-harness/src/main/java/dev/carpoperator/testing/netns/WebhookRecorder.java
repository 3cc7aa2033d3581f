package dev.carpoperator.testing.netns;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A webhook receiver to run inside a lab host: {@code WebhookRecorder ADDRESS PORT FILE} appends
 * every POSTed body as one line to FILE and answers 204. Tests read the file to see what the agents
 * sent.
 */
public final class WebhookRecorder {
  private WebhookRecorder() {}

  public static void main(String[] args) throws IOException {
    Path file = Path.of(args[2]);
    HttpServer server =
        HttpServer.create(new InetSocketAddress(args[0], Integer.parseInt(args[1])), 0);
    server.createContext(
        "/",
        ex -> {
          byte[] body = ex.getRequestBody().readAllBytes();
          synchronized (WebhookRecorder.class) {
            Files.writeString(
                file,
                new String(body, StandardCharsets.UTF_8).replace('\n', ' ') + "\n",
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
          }
          ex.sendResponseHeaders(204, -1);
          ex.close();
        });
    server.start();
  }
}
