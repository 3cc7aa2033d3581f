package dev.carpoperator.agent.lab;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Lab responder: answers every TCP connection on {@code port} with {@code name} and a newline.
 * Args: port name.
 */
public final class WhoAmIMain {
  private WhoAmIMain() {}

  public static void main(String[] args) throws IOException {
    byte[] answer = (args[1] + "\n").getBytes(StandardCharsets.US_ASCII);
    try (ServerSocket server =
        new ServerSocket(Integer.parseInt(args[0]))) { // wildcard: also the shared address
      System.out.println("listening");
      while (true) {
        Socket s = server.accept();
        Thread.startVirtualThread(
            () -> {
              try (s;
                  OutputStream out = s.getOutputStream()) {
                out.write(answer);
              } catch (IOException e) {
                // the client went away: nothing to do
              }
            });
      }
    }
  }
}
