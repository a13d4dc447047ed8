package causalflow.peers;

/**
 * Port of `lib/util/random.ts` (sfc32 seeded through splitmix32): the same 32-bit draws for the same
 * seed, so that the generator's string pools match the TypeScript generator's byte for byte.
 */
final class SeededRandom {
  private int a;
  private int b;
  private int c;
  private int d;
  private int s;

  SeededRandom(int seed) {
    s = seed;
    a = splitmix();
    b = splitmix();
    c = splitmix();
    d = splitmix();
    for (int i = 0; i < 12; i++) nextUint32();
  }

  private int splitmix() {
    s = s + 0x9e3779b9;
    int z = s;
    z = (z ^ (z >>> 16)) * 0x85ebca6b;
    z = (z ^ (z >>> 13)) * 0xc2b2ae35;
    return z ^ (z >>> 16);
  }

  /** Next unsigned 32-bit integer. */
  long nextUint32() {
    int t = a + b + d;
    d = d + 1;
    a = b ^ (b >>> 9);
    b = c + (c << 3);
    c = (c << 21) | (c >>> 11);
    c = c + t;
    return t & 0xffffffffL;
  }

  /** Uniform integer in [0, bound), as `Math.floor(next() * bound)` in doubles. */
  int nextInt(int bound) {
    return (int) Math.floor((nextUint32() / 4294967296.0) * bound);
  }
}
