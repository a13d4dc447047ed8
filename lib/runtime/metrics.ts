/**
 * Latency histograms and per-interval timelines. Recording is allocation-free: a histogram is an
 * array of counters over logarithmic buckets (at most about 6% relative error, 4 KB), a timeline a
 * list of 100 ms slots.
 */

const SUB_BUCKETS = 16;
const MAX_EXPONENT = 32;

/** A latency histogram in milliseconds with logarithmic buckets. */
export class Histogram {
  private readonly counts = new Float64Array(MAX_EXPONENT * SUB_BUCKETS + 1);
  /** Number of samples (weighted). */
  total = 0;
  /** Largest sample. */
  max = 0;

  /** Adds `weight` samples of `valueMs`. */
  record(valueMs: number, weight = 1): void {
    if (!(valueMs >= 0)) valueMs = 0;
    this.counts[bucketOf(valueMs)]! += weight;
    this.total += weight;
    if (valueMs > this.max) this.max = valueMs;
  }

  /** The value at quantile `q` (0..1), or NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const target = q * this.total;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target && this.counts[i]! > 0) return Math.min(valueOf(i), this.max);
    }
    return this.max;
  }

  /** Adds every sample of `other`. */
  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    if (other.max > this.max) this.max = other.max;
  }

  /** Empties the histogram. */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }
}

/** Bucket index: values below 1/16 ms share bucket 0; above, 16 buckets per power of two. */
function bucketOf(value: number): number {
  const scaled = value * SUB_BUCKETS;
  if (scaled < 1) return 0;
  const exponent = Math.floor(Math.log2(scaled));
  if (exponent >= MAX_EXPONENT) return MAX_EXPONENT * SUB_BUCKETS;
  const sub = Math.floor((scaled / 2 ** exponent - 1) * SUB_BUCKETS);
  return 1 + exponent * SUB_BUCKETS + Math.min(sub, SUB_BUCKETS - 1);
}

/** Upper edge of a bucket, in ms. */
function valueOf(bucket: number): number {
  if (bucket === 0) return 1 / SUB_BUCKETS;
  const exponent = Math.floor((bucket - 1) / SUB_BUCKETS);
  const sub = (bucket - 1) % SUB_BUCKETS;
  return (2 ** exponent * (1 + (sub + 1) / SUB_BUCKETS)) / SUB_BUCKETS;
}

/** One slot of a {@link Timeline}. */
export interface TimelineSlot {
  /** Start of the slot, ms on the job clock. */
  t: number;
  /** Records read by sources in the slot. */
  input: number;
  /** Records that reached sinks in the slot. */
  output: number;
  /** Median latency of those records (ms), or null. */
  p50: number | null;
  /** 99th-percentile latency of those records (ms), or null. */
  p99: number | null;
}

/** Input and output counts and sink latency per fixed interval of the job clock. */
export class Timeline {
  private readonly slots: { input: number; output: number; latency: Histogram | null }[] = [];
  /** Index of the oldest slot still holding a latency histogram. */
  private oldestHistogram = 0;

  constructor(
    /** Slot length in ms (default 100). */
    readonly slotMs = 100,
    /**
     * Slots that keep a latency histogram (default 6,000: 10 minutes of 100 ms slots, 25 MB at
     * most). Older slots keep their counts and forget their histogram, so memory stays bounded.
     */
    readonly histogramSlots = 6_000,
  ) {}

  /** Counts `count` records read by a source at `now`. */
  input(now: number, count: number): void {
    this.slot(now).input += count;
  }

  /** Counts `count` records reaching a sink at `now` with latency `latencyMs`. */
  output(now: number, count: number, latencyMs: number): void {
    const slot = this.slot(now);
    slot.output += count;
    slot.latency?.record(latencyMs, count);
  }

  /** Sink latency of every record that arrived in `[fromMs, toMs)` of the job clock. */
  latencyBetween(fromMs: number, toMs: number): Histogram {
    const merged = new Histogram();
    for (let i = Math.max(0, Math.floor(fromMs / this.slotMs)); i < Math.min(this.slots.length, Math.ceil(toMs / this.slotMs)); i++) {
      const latency = this.slots[i]!.latency;
      if (latency) merged.merge(latency);
    }
    return merged;
  }

  /** Records read by sources in `[fromMs, toMs)` of the job clock. */
  inputBetween(fromMs: number, toMs: number): number {
    let n = 0;
    for (let i = Math.max(0, Math.floor(fromMs / this.slotMs)); i < Math.min(this.slots.length, Math.ceil(toMs / this.slotMs)); i++) n += this.slots[i]!.input;
    return n;
  }

  /** The slots recorded so far. */
  slotsSoFar(): TimelineSlot[] {
    return this.slots.map((s, i) => ({
      t: i * this.slotMs,
      input: s.input,
      output: s.output,
      p50: s.latency && s.latency.total > 0 ? round(s.latency.quantile(0.5)) : null,
      p99: s.latency && s.latency.total > 0 ? round(s.latency.quantile(0.99)) : null,
    }));
  }

  private slot(now: number): { input: number; output: number; latency: Histogram | null } {
    const index = Math.max(0, Math.floor(now / this.slotMs));
    while (this.slots.length <= index) {
      this.slots.push({ input: 0, output: 0, latency: new Histogram() });
      while (this.slots.length - this.oldestHistogram > this.histogramSlots) this.slots[this.oldestHistogram++]!.latency = null;
    }
    return this.slots[index]!;
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Job-clock times of sink outputs, the most recent `capacity` of them (to measure output gaps). */
export class OutputTimes {
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity = 1 << 18) {
    this.times = new Float64Array(capacity);
  }

  /** Notes output at `t`. */
  record(t: number): void {
    this.times[this.next] = t;
    this.next = (this.next + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
  }

  /** The times held, oldest first. */
  toArray(): number[] {
    const out: number[] = [];
    const start = (this.next - this.count + this.times.length) % this.times.length;
    for (let i = 0; i < this.count; i++) out.push(this.times[(start + i) % this.times.length]!);
    return out;
  }
}
