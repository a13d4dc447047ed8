/**
 * `causalflow bench determinants`: micro-benchmark of the determinant log library, through its
 * public API only (`determinants/index.ts`).
 *
 * - appendsPerSec: the mixed workload (per 100 determinants: 60 order, 30 clock, 5 timer,
 *   1 random seed, 4 external calls with 64-byte payloads) appended to one log. Every 1M appends the
 *   log starts a new epoch and drops the previous one, as a completed checkpoint would. The figure is
 *   the median rate over those 1M-append chunks.
 * - orderBytesPerRecord*: log bytes per delivered record for ORDER entries, two input channels.
 *   "Batched" delivers runs of 256 records, "interleaved" picks the channel at random per record. A
 *   delta is shipped (and the log sealed) after every 256 records, as a task shipping one output batch
 *   per 256 inputs would, which stops runs from coalescing across shipped bytes.
 * - shipMBps: the mixed workload, where each ORDER entry delivers one record (so a record comes with
 *   40/60 of another determinant on average); after every 256 records the producer extracts the delta
 *   for one consumer and a downstream replica ingests it. Only extraction and ingest are timed (each
 *   delta timed on its own, so timer overhead counts against the figure); the figure is the median, over
 *   checkpoint windows of 800 deltas, of MB of log bytes moved per second. Those deltas are kilobytes: a
 *   throughput figure, not what a task ships.
 * - shipNsPerEnvelope: the cost of one envelope (extraction at the producer and ingest at a replica) at
 *   the sizes the runtime really ships. `bench/envelope-sizes.ts` read those off Q1, Q3 and Q8 under
 *   `exactly-once` (dsd 1), at 20,000 and 200,000 events/s: every envelope 20 bytes in Q1, medians of
 *   20 to 29 bytes and 90th percentiles up to 32 in Q3 and Q8 (one or two ORDER entries and a clock).
 *   Envelopes of {@link SHIP_ENVELOPE_SIZES} bytes are timed, built from order, clock and timer
 *   determinants. Timing each envelope on its own would measure the timer (tens of ns) as much as the
 *   envelope, so windows of envelopes are timed, paired with a window of the same appends that ships
 *   nothing; the figure is the median over window pairs of the difference, divided by the envelopes.
 */
import { DeltaShipper, DeterminantLog, GrowableBytes, ReplicaStore } from '../determinants/index.js';
import { SeededRandom } from '../lib/util/random.js';

/** The JSON result, as fixed by `../shared/contracts.md`. */
export interface DeterminantsBenchResult {
  bench: 'determinants';
  /** Worker processes of the runtime (always 0: this benchmark runs in this process). */
  workers: 0;
  appendsPerSec: number;
  orderBytesPerRecordBatched: number;
  orderBytesPerRecordInterleaved: number;
  shipMBps: number;
  node: string;
  /** Bytes of log one 256-record delta carried on average in the ship benchmark. */
  shipDeltaBytes: number;
  /** Ns per envelope (extract + ingest) at the runtime's typical envelope, the first of {@link SHIP_ENVELOPE_SIZES}. */
  shipNsPerEnvelope: number;
  /** Ns per envelope at each size timed: the envelope bytes aimed at, and the mean the timed envelopes had. */
  shipNsPerEnvelopeBySize: { targetBytes: number; envelopeBytes: number; nsPerEnvelope: number }[];
  seconds: number;
}

/** Options of {@link runDeterminantsBench}. */
export interface DeterminantsBenchOptions {
  /** Total time budget (default 10 s). */
  seconds?: number;
  /** Called with a phase name and a fraction done. */
  onProgress?: (phase: string, fraction: number) => void;
}

const ORDER = 0;
const CLOCK = 1;
const TIMER = 2;
const SEED = 3;
const EXTERNAL = 4;
const PATTERN_LENGTH = 100;
const DELTA_EVERY = 256;

/** Builds one shuffled block of 100 operations with the mixed workload's proportions. */
function mixedPattern(random: SeededRandom): Uint8Array {
  const ops: number[] = [];
  const push = (op: number, n: number): void => {
    for (let i = 0; i < n; i++) ops.push(op);
  };
  push(ORDER, 60);
  push(CLOCK, 30);
  push(TIMER, 5);
  push(SEED, 1);
  push(EXTERNAL, 4);
  for (let i = ops.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [ops[i], ops[j]] = [ops[j]!, ops[i]!];
  }
  return Uint8Array.from(ops);
}

/** Precomputed arguments, so that the timed loop measures the log and not argument generation. */
class MixedWorkload {
  readonly pattern: Uint8Array;
  readonly channels: Uint8Array;
  readonly clockSteps: Uint8Array;
  readonly seeds: Uint32Array;
  readonly payload = new Uint8Array(64).fill(0x5a);
  private clock = 1_763_000_000_000;
  private position = 0;

  constructor(seed: number) {
    const random = new SeededRandom(seed);
    this.pattern = mixedPattern(random);
    this.channels = new Uint8Array(4096).map(() => random.nextInt(4));
    this.clockSteps = new Uint8Array(4096).map(() => random.nextInt(3));
    this.seeds = new Uint32Array(64).map(() => random.nextUint32());
  }

  /** Appends determinant number `i` of the workload; returns 1 if it delivered a record (an ORDER), else 0. */
  append(log: DeterminantLog, i: number): number {
    switch (this.pattern[i % PATTERN_LENGTH]) {
      case ORDER:
        log.order(this.channels[i & 4095]!, 1);
        this.position++;
        return 1;
      case CLOCK:
        this.clock += this.clockSteps[i & 4095]!;
        log.clock(this.clock);
        break;
      case TIMER:
        log.timer(i & 7, this.clock + 5, this.position);
        break;
      case SEED:
        log.randomSeed(this.seeds[i & 63]!);
        break;
      default:
        log.external(i & 15, this.payload);
    }
    return 0;
  }

  /** Starts a new epoch in `log` and in the workload's delta bases. */
  nextEpoch(log: DeterminantLog): void {
    log.startEpoch(log.epoch + 1);
    log.truncateBefore(log.epoch);
    this.position = 0;
  }
}

function measureAppends(seconds: number, onProgress: (fraction: number) => void): number {
  const workload = new MixedWorkload(42);
  const log = new DeterminantLog({ taskId: 1, initialCapacity: 8 << 20 });
  const chunk = 1_000_000;
  let appended = 0;
  let elapsed = 0;
  const chunkRates: number[] = [];
  // Warm-up so that the JIT has compiled the append paths before timing.
  for (let i = 0; i < chunk; i++) workload.append(log, i);
  workload.nextEpoch(log);
  while (elapsed < seconds * 1000) {
    const start = performance.now();
    for (let i = 0; i < chunk; i++) workload.append(log, i);
    const took = performance.now() - start;
    elapsed += took;
    chunkRates.push(chunk / (took / 1000));
    appended += chunk;
    workload.nextEpoch(log);
    onProgress(Math.min(1, elapsed / (seconds * 1000)));
  }
  return chunkRates.length > 0 ? median(chunkRates) : appended / (elapsed / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function orderBytesPerRecord(records: number, nextRun: (random: SeededRandom) => [channel: number, count: number]): number {
  const random = new SeededRandom(7);
  const log = new DeterminantLog({ taskId: 1 });
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const consumer = shipper.addConsumer();
  const out = new GrowableBytes(4096);
  let delivered = 0;
  let sinceShip = 0;
  while (delivered < records) {
    const [channel, count] = nextRun(random);
    log.order(channel, count);
    delivered += count;
    sinceShip += count;
    if (sinceShip >= DELTA_EVERY) {
      out.length = 0;
      shipper.writeDelta(consumer, out);
      sinceShip = 0;
    }
  }
  return log.currentLength / delivered;
}

function measureShip(seconds: number, onProgress: (fraction: number) => void): { mbps: number; deltaBytes: number } {
  const workload = new MixedWorkload(43);
  const log = new DeterminantLog({ taskId: 1, initialCapacity: 1 << 20 });
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const consumer = shipper.addConsumer();
  const replicas = new ReplicaStore({ dsd: 1 });
  const envelope = new GrowableBytes(64 << 10);
  const deltasPerEpoch = 800;
  let shippedBytes = 0;
  let deltas = 0;
  let timed = 0;
  let windowBytes = 0;
  let windowTimed = 0;
  const windowRates: number[] = [];
  let i = 0;
  let shippedBefore = 0;
  const budget = seconds * 1000;
  const wallStart = performance.now();
  let wall = 0;
  let records = 0;
  while (wall < budget) {
    records += workload.append(log, i++);
    if (records === DELTA_EVERY) {
      records = 0;
      const before = log.currentLength;
      const start = performance.now();
      envelope.length = 0;
      shipper.writeDelta(consumer, envelope);
      replicas.ingest(envelope.view());
      const took = performance.now() - start;
      timed += took;
      windowTimed += took;
      windowBytes += before - shippedBefore;
      shippedBytes += before - shippedBefore;
      shippedBefore = before;
      deltas++;
      if (deltas % deltasPerEpoch === 0) {
        // Checkpoint: new epoch at producer, old epochs dropped on both sides.
        workload.nextEpoch(log);
        replicas.truncateBefore(log.epoch);
        shippedBefore = 0;
        windowRates.push(windowBytes / 1e6 / (windowTimed / 1000));
        windowBytes = 0;
        windowTimed = 0;
        wall = performance.now() - wallStart;
        onProgress(Math.min(1, wall / budget));
      }
    }
  }
  // The median over checkpoint windows: a noisy neighbour stalling one window does not move it.
  return { mbps: windowRates.length > 0 ? median(windowRates) : shippedBytes / 1e6 / (timed / 1000), deltaBytes: shippedBytes / deltas };
}

/** Envelope sizes (bytes, envelope header included) {@link measureShipPerEnvelope} times; the runtime ships 20 to 32. */
export const SHIP_ENVELOPE_SIZES: readonly number[] = [20, 32, 64];

/** Envelopes per timed window of {@link measureShipPerEnvelope}. */
const ENVELOPES_PER_WINDOW = 2000;

/**
 * One arm of the per-envelope measurement: a log taking order, clock and timer determinants, as a task's
 * batch brings them, and (when `ships`) a shipper and a downstream replica store.
 */
class EnvelopeArm {
  private readonly log = new DeterminantLog({ taskId: 1, initialCapacity: 1 << 20 });
  private readonly shipper = new DeltaShipper({ log: this.log, dsd: 1 });
  private readonly consumer = this.shipper.addConsumer();
  private readonly replicas = new ReplicaStore({ dsd: 1 });
  private readonly envelope = new GrowableBytes(4096);
  private clock = 1_763_000_000_000;
  private step = 0;
  private mark = 0;
  /** Envelope bytes shipped in this window. */
  shippedBytes = 0;
  /** Log bytes the last envelope carried. */
  lastLogBytes = 0;

  constructor(private readonly ships: boolean) {}

  /** Appends determinants until about `logBytes` are new, then ships them (or, not shipping, marks them seen). */
  next(logBytes: number): void {
    const log = this.log;
    while (log.currentLength - this.mark < logBytes) {
      const k = this.step++;
      // Two input channels in runs, a clock read per batch, a timer now and then.
      if (k % 3 === 0) log.order(k & 1, 1 + (k % 200));
      else if (k % 3 === 1) log.clock((this.clock += 1 + (k & 3)));
      else log.timer(k & 7, this.clock + 5, k);
    }
    this.lastLogBytes = log.currentLength - this.mark;
    if (this.ships) {
      this.envelope.length = 0;
      this.shippedBytes += this.shipper.writeDelta(this.consumer, this.envelope);
      this.replicas.ingest(this.envelope.view());
    }
    this.mark = log.currentLength;
  }

  /** A checkpoint: a new epoch, the old one dropped on both sides, so that memory stays flat. */
  nextEpoch(): void {
    this.log.startEpoch(this.log.epoch + 1);
    this.log.truncateBefore(this.log.epoch);
    this.replicas.truncateBefore(this.log.epoch);
    this.mark = 0;
    this.shippedBytes = 0;
  }
}

/** Ns per envelope of `targetBytes` (extract + ingest), and the envelopes' mean size; see the module comment. */
export function measureShipPerEnvelope(targetBytes: number, seconds: number): { envelopeBytes: number; nsPerEnvelope: number } {
  const shipping = new EnvelopeArm(true);
  const silent = new EnvelopeArm(false);
  // The envelope's own bytes (header, slice header) on top of the log bytes: measured on a first envelope.
  const probe = new EnvelopeArm(true);
  probe.next(1);
  const overhead = probe.shippedBytes - probe.lastLogBytes;
  const logBytes = Math.max(1, targetBytes - overhead);
  const window = (arm: EnvelopeArm): number => {
    arm.nextEpoch();
    const start = performance.now();
    for (let i = 0; i < ENVELOPES_PER_WINDOW; i++) arm.next(logBytes);
    return performance.now() - start;
  };
  // Warm-up: both arms through the JIT before timing.
  for (let i = 0; i < 20; i++) {
    window(silent);
    window(shipping);
  }
  const perEnvelope: number[] = [];
  let bytes = 0;
  let envelopes = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || perEnvelope.length < 5) {
    const base = window(silent);
    const shipped = window(shipping);
    perEnvelope.push(((shipped - base) * 1e6) / ENVELOPES_PER_WINDOW);
    bytes += shipping.shippedBytes;
    envelopes += ENVELOPES_PER_WINDOW;
  }
  return { envelopeBytes: round(bytes / envelopes, 1), nsPerEnvelope: Math.max(0, Math.round(median(perEnvelope))) };
}

/** Runs the benchmark. */
export async function runDeterminantsBench(options: DeterminantsBenchOptions = {}): Promise<DeterminantsBenchResult> {
  const seconds = options.seconds ?? 10;
  const progress = options.onProgress ?? (() => {});
  const appendsPerSec = measureAppends(seconds * 0.5, (f) => progress('appends', f));
  progress('order bytes', 0);
  const records = 4_000_000;
  const orderBytesPerRecordBatched = orderBytesPerRecord(records, (random) => [random.nextInt(2), 256]);
  const orderBytesPerRecordInterleaved = orderBytesPerRecord(records, (random) => [random.nextInt(2), 1]);
  progress('order bytes', 1);
  const ship = measureShip(seconds * 0.3, (f) => progress('ship', f));
  const bySize = SHIP_ENVELOPE_SIZES.map((targetBytes, i) => {
    progress('ship per envelope', i / SHIP_ENVELOPE_SIZES.length);
    return { targetBytes, ...measureShipPerEnvelope(targetBytes, (seconds * 0.1) / SHIP_ENVELOPE_SIZES.length) };
  });
  return {
    bench: 'determinants',
    workers: 0,
    appendsPerSec: Math.round(appendsPerSec),
    orderBytesPerRecordBatched: round(orderBytesPerRecordBatched, 5),
    orderBytesPerRecordInterleaved: round(orderBytesPerRecordInterleaved, 4),
    shipMBps: round(ship.mbps, 1),
    node: process.version,
    shipDeltaBytes: Math.round(ship.deltaBytes),
    shipNsPerEnvelope: bySize[0]!.nsPerEnvelope,
    shipNsPerEnvelopeBySize: bySize,
    seconds,
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
