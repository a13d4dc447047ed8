package causalflow.peers;

import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;

/**
 * Prints events 0 … count − 1 of the generator, one JSON line each (the format `JSON.stringify` gives
 * the TypeScript generator's events), so that a test can compare both generators byte for byte.
 * Usage: `GeneratorDump <seed> <count> <eventRate>`.
 */
public final class GeneratorDump {
  private GeneratorDump() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: GeneratorDump <seed> <count> <eventRate>");
      System.exit(2);
    }
    long seed = Long.parseLong(args[0]);
    long count = Long.parseLong(args[1]);
    double eventRate = Double.parseDouble(args[2]);
    NexmarkGenerator generator = new NexmarkGenerator(seed, eventRate, 0, 0);
    try (BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16)) {
      for (long n = 0; n < count; n++) {
        out.write(generator.event(n).toJson());
        out.write('\n');
      }
    }
  }
}
