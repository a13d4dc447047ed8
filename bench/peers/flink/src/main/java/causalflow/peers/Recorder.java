package causalflow.peers;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one run measured, gathered across every subtask. A MiniCluster runs every task in this JVM, and
 * restarted tasks are new instances in the same JVM, so static state outlives a failure the way an
 * external system (a database behind a transactional sink, a metrics store) would. A run holds tens of
 * millions of records, so each is kept as a few primitives: times as floats in ms since the start (exact
 * to a few µs over a run), the line as its hash.
 */
final class Recorder {
  private Recorder() {}

  /** Slots of the input timeline (100 ms each); runs longer than this keep counting in the last one. */
  private static final int INPUT_SLOTS = 36_000;
  private static final long ORIGIN = System.nanoTime();

  /** When the sources started (ms on {@link #nowMs()}), set by the first source subtask to run; NaN before. */
  private static volatile double startMs = Double.NaN;
  static final AtomicLong sourced = new AtomicLong();
  private static AtomicLongArray inputPerSlot = new AtomicLongArray(INPUT_SLOTS);
  /** Records that reached the sink: when (ms since the start), and their latency (ms). */
  private static FloatList sinkAt = new FloatList();
  private static FloatList sinkLatency = new FloatList();
  /** Records committed: the arrival of their event (ms since the start), their visibility latency (ms), their line's hash. */
  private static FloatList committedArrival = new FloatList();
  private static FloatList visibility = new FloatList();
  private static LongList committedHashes = new LongList();
  /** Pre-committed transactions (subtask/checkpoint): the external system's side of a two-phase commit. */
  private static Map<String, Transaction> preCommitted = new HashMap<>();
  /** Transactions already committed: a restored sink commits each at most once. */
  private static Set<String> committedTransactions = new HashSet<>();
  /** Records a sink that does not measure has seen (maximum-rate runs). */
  static final LongAdder counted = new LongAdder();
  /** When the injected failure was thrown (ms since start), NaN without one. */
  static volatile double killedAtMs = Double.NaN;
  static final AtomicLong failures = new AtomicLong();

  /** The records of one transaction: the arrival of each one's event (ms since the start) and its line's hash (0 unless hashed). */
  static final class Transaction {
    final FloatList arrivals = new FloatList();
    final LongList hashes = new LongList();

    void add(Output record, boolean hash) {
      arrivals.add((float) (record.arrival - startMs));
      hashes.add(hash ? lineHash(record.line) : 0);
    }
  }

  /** Milliseconds on a monotonic clock shared by every thread of this JVM. */
  static double nowMs() {
    return (System.nanoTime() - ORIGIN) / 1e6;
  }

  /** Forgets the previous run. */
  static synchronized void reset() {
    startMs = Double.NaN;
    sourced.set(0);
    inputPerSlot = new AtomicLongArray(INPUT_SLOTS);
    sinkAt = new FloatList();
    sinkLatency = new FloatList();
    committedArrival = new FloatList();
    visibility = new FloatList();
    committedHashes = new LongList();
    preCommitted = new HashMap<>();
    committedTransactions = new HashSet<>();
    counted.reset();
    killedAtMs = Double.NaN;
    failures.set(0);
  }

  /** The sources' common start: the first caller sets it (restarted sources keep the first one). */
  static synchronized double start() {
    if (Double.isNaN(startMs)) startMs = nowMs();
    return startMs;
  }

  static double startMs() {
    return startMs;
  }

  /** A source emitted `count` events now. */
  static void sourced(int count) {
    sourced.addAndGet(count);
    int slot = (int) Math.min(INPUT_SLOTS - 1, Math.max(0, (nowMs() - startMs) / 100));
    inputPerSlot.addAndGet(slot, count);
  }

  static synchronized void reachedSink(double at, double latency) {
    sinkAt.add((float) (at - startMs));
    sinkLatency.add((float) latency);
  }

  /** A sink counted one record it does not measure. */
  static void counted() {
    counted.increment();
  }

  /** The external system holds `transaction`, ready to commit. */
  static synchronized void preCommit(String id, Transaction transaction) {
    preCommitted.put(id, transaction);
  }

  /** Commits a pre-committed transaction at `at`, unless it was committed before (a restored sink retries its pending ones). */
  static synchronized void commit(String id, double at) {
    Transaction transaction = preCommitted.remove(id);
    if (transaction == null || !committedTransactions.add(id)) return;
    float since = (float) (at - startMs);
    for (int i = 0; i < transaction.arrivals.size; i++) {
      committedArrival.add(transaction.arrivals.values[i]);
      visibility.add(since - transaction.arrivals.values[i]);
      committedHashes.add(transaction.hashes.values[i]);
    }
  }

  /** Commits one record outside any transaction (a run without checkpoints). */
  static synchronized void commitAtOnce(Output record, double at) {
    committedArrival.add((float) (record.arrival - startMs));
    visibility.add((float) (at - record.arrival));
    committedHashes.add(lineHash(record.line));
  }

  /** The hashes of the committed lines, ascending. */
  static synchronized long[] committedHashes() {
    long[] hashes = committedHashes.toArray();
    Arrays.sort(hashes);
    return hashes;
  }

  /**
   * A 52-bit hash of a line (exact in a double, so TypeScript computes the same number): the 32 bits of
   * FNV-1a over its UTF-16 units, then the top 20 bits of FNV-1a from another offset basis.
   */
  static long lineHash(String line) {
    int h1 = 0x811c9dc5;
    int h2 = 0x5bd1e995;
    for (int i = 0; i < line.length(); i++) {
      h1 = (h1 ^ line.charAt(i)) * 0x01000193;
      h2 = (h2 ^ line.charAt(i)) * 0x01000193;
    }
    return ((h1 & 0xffffffffL) << 20) | ((h2 >>> 12) & 0xfffff);
  }

  /**
   * The run's figures as JSON fields (no braces): latency of the records that reached the sink in
   * [fromMs, toMs) since the start, visibility of those whose event arrived then; with `timeline`, the
   * sink's 100 ms slots and output times too.
   */
  static synchronized String figures(double fromMs, double toMs, boolean timeline) {
    FloatList windowLatency = new FloatList();
    for (int i = 0; i < sinkAt.size; i++) if (sinkAt.values[i] >= fromMs && sinkAt.values[i] < toMs) windowLatency.add(sinkLatency.values[i]);
    FloatList windowVisibility = new FloatList();
    for (int i = 0; i < committedArrival.size; i++) {
      if (committedArrival.values[i] >= fromMs && committedArrival.values[i] < toMs) windowVisibility.add(visibility.values[i]);
    }
    float[] sortedLatency = windowLatency.sorted();
    float[] sortedVisibility = windowVisibility.sorted();
    StringBuilder out = new StringBuilder();
    out.append("\"p50Ms\":").append(Json.number(quantile(sortedLatency, 0.5)));
    out.append(",\"p99Ms\":").append(Json.number(quantile(sortedLatency, 0.99)));
    out.append(",\"visibleP50Ms\":").append(Json.number(quantile(sortedVisibility, 0.5)));
    out.append(",\"visibleP99Ms\":").append(Json.number(quantile(sortedVisibility, 0.99)));
    out.append(",\"sinkRecords\":").append(sinkAt.size + counted.sum());
    out.append(",\"committedRecords\":").append(committedHashes.size);
    out.append(",\"sourced\":").append(sourced.get());
    out.append(",\"timeline\":").append(timeline ? timeline() : "[]");
    out.append(",\"outputTimes\":").append(timeline ? outputTimes() : "[]");
    return out.toString();
  }

  /** 100 ms slots since the start: `{t, input, output, p50, p99}` as `TimelineSlot` of lib/runtime/metrics.ts. */
  private static String timeline() {
    float end = 0;
    for (int i = 0; i < sinkAt.size; i++) end = Math.max(end, sinkAt.values[i]);
    int slots = (int) Math.ceil(end / 100) + 1;
    FloatList[] perSlot = new FloatList[slots];
    for (int i = 0; i < sinkAt.size; i++) {
      int slot = (int) Math.max(0, sinkAt.values[i] / 100);
      if (perSlot[slot] == null) perSlot[slot] = new FloatList();
      perSlot[slot].add(sinkLatency.values[i]);
    }
    StringBuilder out = new StringBuilder("[");
    for (int s = 0; s < slots; s++) {
      if (s > 0) out.append(',');
      float[] sorted = perSlot[s] == null ? new float[0] : perSlot[s].sorted();
      out.append("{\"t\":").append(s * 100).append(",\"input\":").append(inputPerSlot.get(Math.min(s, INPUT_SLOTS - 1)))
          .append(",\"output\":").append(sorted.length)
          .append(",\"p50\":").append(Json.number(quantile(sorted, 0.5)))
          .append(",\"p99\":").append(Json.number(quantile(sorted, 0.99))).append('}');
    }
    return out.append(']').toString();
  }

  /** The distinct milliseconds (since the start) at which records reached the sink, ascending. */
  private static String outputTimes() {
    long[] ms = new long[sinkAt.size];
    for (int i = 0; i < sinkAt.size; i++) ms[i] = (long) Math.floor(sinkAt.values[i]);
    Arrays.sort(ms);
    StringBuilder out = new StringBuilder("[");
    long last = Long.MIN_VALUE;
    for (long m : ms) {
      if (m == last) continue;
      if (last != Long.MIN_VALUE) out.append(',');
      out.append(m);
      last = m;
    }
    return out.append(']').toString();
  }

  /** Nearest-rank quantile of a sorted array (as `percentileOf` in recovery-metrics.ts), NaN for none. */
  static double quantile(float[] sorted, double p) {
    if (sorted.length == 0) return Double.NaN;
    int rank = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
    return Math.round(sorted[rank] * 1000.0) / 1000.0;
  }

  /** A growable array of floats (boxed values for tens of millions of records would not fit the heap). */
  static final class FloatList {
    float[] values = new float[1024];
    int size;

    void add(float value) {
      if (size == values.length) values = Arrays.copyOf(values, size + (size >> 1));
      values[size++] = value;
    }

    float[] sorted() {
      float[] copy = Arrays.copyOf(values, size);
      Arrays.sort(copy);
      return copy;
    }
  }

  /** A growable array of longs. */
  static final class LongList {
    long[] values = new long[1024];
    int size;

    void add(long value) {
      if (size == values.length) values = Arrays.copyOf(values, size + (size >> 1));
      values[size++] = value;
    }

    long[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }
}
