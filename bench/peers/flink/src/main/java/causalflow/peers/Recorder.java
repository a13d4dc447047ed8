package causalflow.peers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one run measured, gathered across every subtask. A MiniCluster runs every task in this JVM, and
 * restarted tasks are new instances in the same JVM, so static state outlives a failure the way an
 * external system (a database behind a transactional sink, a metrics store) would.
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
  /** Records that reached the sink: when, and their latency (ms). */
  private static DoubleList sinkAt = new DoubleList();
  private static DoubleList sinkLatency = new DoubleList();
  /** Records committed: when, visibility latency (ms), the arrival of their event, and the line. */
  private static DoubleList committedAt = new DoubleList();
  private static DoubleList visibility = new DoubleList();
  private static DoubleList committedArrival = new DoubleList();
  /** {@link #lineHash} of each committed record's line (millions of lines would not fit the heap as strings). */
  private static LongList committedHashes = new LongList();
  /** Pre-committed transactions (subtask/checkpoint) and their records: the external system's side of a two-phase commit. */
  private static Map<String, List<Output>> preCommitted = new HashMap<>();
  /** Transactions already committed: a restored sink commits each at most once. */
  private static Set<String> committedTransactions = new HashSet<>();
  /** Records a sink that does not measure has seen (maximum-rate runs). */
  static final LongAdder counted = new LongAdder();
  /** When the injected failure was thrown (ms since start), NaN without one. */
  static volatile double killedAtMs = Double.NaN;
  static final AtomicLong failures = new AtomicLong();

  /** Milliseconds on a monotonic clock shared by every thread of this JVM. */
  static double nowMs() {
    return (System.nanoTime() - ORIGIN) / 1e6;
  }

  /** Forgets the previous run. */
  static synchronized void reset() {
    startMs = Double.NaN;
    sourced.set(0);
    inputPerSlot = new AtomicLongArray(INPUT_SLOTS);
    sinkAt = new DoubleList();
    sinkLatency = new DoubleList();
    committedAt = new DoubleList();
    visibility = new DoubleList();
    committedArrival = new DoubleList();
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
    sinkAt.add(at);
    sinkLatency.add(latency);
  }

  /** A sink counted one record it does not measure. */
  static void counted() {
    counted.increment();
  }

  /** The external system holds `records` in `transaction`, ready to commit. */
  static synchronized void preCommit(String transaction, List<Output> records) {
    preCommitted.put(transaction, records);
  }

  /** Commits a pre-committed transaction's records, unless it was committed before (a restored sink retries its pending ones). */
  static synchronized void commit(String transaction, double at) {
    List<Output> records = preCommitted.remove(transaction);
    if (records == null || !committedTransactions.add(transaction)) return;
    for (Output record : records) {
      committedAt.add(at);
      visibility.add(at - record.arrival);
      committedArrival.add(record.arrival);
      committedHashes.add(lineHash(record.line));
    }
  }

  /** Commits one record outside any transaction (a run without checkpoints). */
  static synchronized void commitAtOnce(Output record, double at) {
    committedAt.add(at);
    visibility.add(at - record.arrival);
    committedArrival.add(record.arrival);
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

  /** The run's figures as JSON fields (no braces), measured over [fromMs, toMs) since the start. */
  static synchronized String figures(double fromMs, double toMs) {
    double start = startMs;
    double[] at = sinkAt.toArray();
    double[] latency = sinkLatency.toArray();
    DoubleList windowLatency = new DoubleList();
    for (int i = 0; i < at.length; i++) if (at[i] - start >= fromMs && at[i] - start < toMs) windowLatency.add(latency[i]);
    DoubleList windowVisibility = new DoubleList();
    double[] arrivals = committedArrival.toArray();
    double[] visible = visibility.toArray();
    for (int i = 0; i < arrivals.length; i++) if (arrivals[i] - start >= fromMs && arrivals[i] - start < toMs) windowVisibility.add(visible[i]);
    double[] sortedLatency = windowLatency.sorted();
    double[] sortedVisibility = windowVisibility.sorted();
    StringBuilder out = new StringBuilder();
    out.append("\"p50Ms\":").append(Json.number(quantile(sortedLatency, 0.5)));
    out.append(",\"p99Ms\":").append(Json.number(quantile(sortedLatency, 0.99)));
    out.append(",\"visibleP50Ms\":").append(Json.number(quantile(sortedVisibility, 0.5)));
    out.append(",\"visibleP99Ms\":").append(Json.number(quantile(sortedVisibility, 0.99)));
    out.append(",\"sinkRecords\":").append(at.length + counted.sum());
    out.append(",\"committedRecords\":").append(committedHashes.size);
    out.append(",\"sourced\":").append(sourced.get());
    out.append(",\"timeline\":").append(timeline(start, at, latency));
    out.append(",\"outputTimes\":").append(outputTimes(start, at));
    return out.toString();
  }

  /** 100 ms slots since the start: `{t, input, output, p50, p99}` as `TimelineSlot` of lib/runtime/metrics.ts. */
  private static String timeline(double start, double[] at, double[] latency) {
    double end = 0;
    for (double a : at) end = Math.max(end, a - start);
    int slots = (int) Math.ceil(end / 100) + 1;
    DoubleList[] perSlot = new DoubleList[slots];
    for (int i = 0; i < at.length; i++) {
      int slot = (int) Math.max(0, (at[i] - start) / 100);
      if (perSlot[slot] == null) perSlot[slot] = new DoubleList();
      perSlot[slot].add(latency[i]);
    }
    StringBuilder out = new StringBuilder("[");
    for (int s = 0; s < slots; s++) {
      if (s > 0) out.append(',');
      double[] sorted = perSlot[s] == null ? new double[0] : perSlot[s].sorted();
      out.append("{\"t\":").append(s * 100).append(",\"input\":").append(inputPerSlot.get(Math.min(s, INPUT_SLOTS - 1)))
          .append(",\"output\":").append(sorted.length)
          .append(",\"p50\":").append(Json.number(quantile(sorted, 0.5)))
          .append(",\"p99\":").append(Json.number(quantile(sorted, 0.99))).append('}');
    }
    return out.append(']').toString();
  }

  /** The distinct milliseconds (since the start) at which records reached the sink, ascending. */
  private static String outputTimes(double start, double[] at) {
    long[] ms = new long[at.length];
    for (int i = 0; i < at.length; i++) ms[i] = (long) Math.floor(at[i] - start);
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
  static double quantile(double[] sorted, double p) {
    if (sorted.length == 0) return Double.NaN;
    int rank = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
    return Math.round(sorted[rank] * 1000) / 1000.0;
  }

  /** A growable array of longs. */
  static final class LongList {
    private long[] values = new long[1024];
    private int size;

    void add(long value) {
      if (size == values.length) values = Arrays.copyOf(values, size * 2);
      values[size++] = value;
    }

    long[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }

  /** A growable array of doubles (a million boxed Doubles per run would dominate the heap). */
  static final class DoubleList {
    private double[] values = new double[1024];
    private int size;

    void add(double value) {
      if (size == values.length) values = Arrays.copyOf(values, size * 2);
      values[size++] = value;
    }

    double[] toArray() {
      return Arrays.copyOf(values, size);
    }

    double[] sorted() {
      double[] copy = toArray();
      Arrays.sort(copy);
      return copy;
    }
  }
}
