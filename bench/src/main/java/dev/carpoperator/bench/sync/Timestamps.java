package dev.carpoperator.bench.sync;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Per-entry nanosecond timestamps as a file of big-endian longs (0: no timestamp), between the
 * probes and the runner.
 */
final class Timestamps {
  private Timestamps() {}

  static void write(Path file, long[] values) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(values.length * Long.BYTES);
    b.asLongBuffer().put(values);
    Files.write(file, b.array());
  }

  static long[] read(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
    long[] out = new long[b.remaining() / Long.BYTES];
    b.asLongBuffer().get(out);
    return out;
  }
}
