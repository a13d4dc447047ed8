/**
 * `causalflow bench kafka`: Nexmark through a real Kafka broker. Events are written to an input topic,
 * the query reads it with `kafkaSource` and writes its result with `kafkaSink` to an output topic, and a
 * consumer reads the output topic as it fills.
 *
 * 1. **Maximum rate**: `events` events are written first; the query (exactly-once) reads them all as
 *    fast as it can; events per second = events ÷ (job start until every output record is in Kafka).
 *    Then the same with the writer (a process of its own) writing while the job reads and a consumer
 *    reads the output: the pipeline's maximum on this machine, which shares its cores with the broker.
 * 2. **Latency at half the lesser of the two**, once with the exactly-once sink (records visible when written, read
 *    `read_uncommitted`), once with `delivery: 'transactional'` under global rollback (visible when the
 *    checkpoint after them completes, read `read_committed`). The writer paces events on the wall clock,
 *    and the generator's event time *is* that schedule (event *n* is due at start + n ÷ rate), so an
 *    output record's latency is when the consumer got it minus the event time of the input that caused
 *    it: Q1's bid, Q3's auction or seller, whichever came last.
 * 3. **Recovery**: the exactly-once run again, with the join task killed (Q3; Q1 has no join, its
 *    currency-conversion task is killed). `recoveryMs` is computed from the consumer's 100 ms latency
 *    slots as `bench recovery` does; `duplicates` and `lost` compare the output topic with an oracle
 *    replay of the run's determinant traces over the same input topic.
 *
 * The last line of stdout (with `--json`) has the fields of `bench kafka` in `../shared/contracts.md`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Job, collectSink, type JobHandle, type RecoveryMode } from '../lib/index.js';
import type { Sink } from '../lib/connectors/sink.js';
import { startBroker, stopBroker } from '../lib/connectors/kafka/broker.js';
import { createKafkaClient, type IdempotentProducer, type KafkaClient, type OutgoingRecord } from '../lib/connectors/kafka/client.js';
import { readCausalflowHeaders } from '../lib/connectors/kafka/headers.js';
import { kafkaSink, type KafkaSink } from '../lib/connectors/kafka/sink.js';
import { kafkaSource } from '../lib/connectors/kafka/source.js';
import { percentileOf, recoveryFigures } from '../lib/runtime/recovery-metrics.js';
import type { TimelineSlot } from '../lib/runtime/metrics.js';
import { BENCH_EVENT_RATE, peakRssMB, round, sleep } from './harness.js';
import { NexmarkGenerator } from './nexmark/generator.js';
import type { NexmarkEvent } from './nexmark/model.js';
import { QUERIES } from './nexmark/queries.js';
import type { WriterOptions } from './kafka-writer.js';

/** Queries the Kafka benchmark runs. */
export const KAFKA_BENCH_QUERIES = ['q1', 'q3'] as const;
/** A query of the Kafka benchmark. */
export type KafkaBenchQuery = (typeof KAFKA_BENCH_QUERIES)[number];

/** Options of {@link runKafkaBench}. */
export interface KafkaBenchOptions {
  query: KafkaBenchQuery;
  /** Brokers to use; default: start a broker of its own (and stop it afterwards). */
  brokers?: string;
  /** Events of the maximum-rate run (default 200,000). */
  events?: number;
  /** Seconds of each paced run (default 8; the first 2 s are warm-up). */
  seconds?: number;
  /** Parallelism of the source, the query and the sink; partitions of both topics (default 2). */
  parallelism?: number;
  /** Checkpoint interval, ms (default 1000). */
  checkpointIntervalMs?: number;
  /** Events per second of the paced runs (default: half the maximum rate, see {@link KafkaBenchResult.rate}). */
  rate?: number;
  /** Called with a message before each step. */
  onProgress?: (message: string) => void;
}

/** Figures of one paced run. */
export interface PacedFigures {
  p50Ms: number | null;
  p99Ms: number | null;
  /** Output records the consumer measured (after the warm-up). */
  samples: number;
  /** Events per second the writer achieved. */
  writtenPerSec: number;
}

/** The result; the contract's fields first. */
export interface KafkaBenchResult {
  bench: 'kafka';
  /** Worker processes of the runtime (always 0: the jobs run embedded). */
  workers: 0;
  query: KafkaBenchQuery;
  /** Maximum rate through Kafka (exactly-once), events per second. */
  eventsPerSec: number | null;
  exactlyOnce: { p50Ms: number | null; p99Ms: number | null; recoveryMs: number | null; duplicates: number | null; lost: number | null; settledMs: number | null; outputGapMs: number | null; killed: string | null };
  transactional: { p50Ms: number | null; p99Ms: number | null };
  /**
   * Events per second through the whole pipeline: the writer (a process of its own) writing as fast as
   * it can while the job reads, and a consumer reads the output, all beside the broker on this machine.
   */
  pipelineEventsPerSec: number | null;
  /** Events per second of the paced runs: half of the lesser of `eventsPerSec` and {@link pipelineEventsPerSec}. */
  rate: number | null;
  /** Events per second the benchmark's writer sustained filling the first topic (in this process, nothing else running). */
  writerEventsPerSec: number | null;
  parallelism: number;
  checkpointIntervalMs: number;
  kafkaVersion: string;
  /** Paced runs in detail. */
  runs: { exactlyOnce: PacedFigures | null; transactional: PacedFigures | null; recovery: PacedFigures | null };
  peakRssMB: number;
}

/** Ms of warm-up left out of the latency figures. */
const WARMUP_MS = 2000;

/** Writes Nexmark events to a topic: event n to partition n mod P, in order within each partition. */
class EventWriter {
  private producer: IdempotentProducer | null = null;
  /** Q3: auction id → [event time, seller]; person id → event time (to find what caused an output). */
  readonly auctions = new Map<number, [number, number]>();
  readonly persons = new Map<number, number>();
  written = 0;

  constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly generator: NexmarkGenerator,
    private readonly remember: boolean,
  ) {}

  /** Writes events [written, upTo). */
  async writeUpTo(upTo: number): Promise<void> {
    this.producer ??= await this.client.idempotentProducer();
    while (this.written < upTo) {
      const to = Math.min(upTo, this.written + 1000 * this.partitions);
      const batches: OutgoingRecord[][] = Array.from({ length: this.partitions }, () => []);
      for (let n = this.written; n < to; n++) {
        const event = this.generator.event(n);
        if (this.remember) {
          if (event.kind === 'auction') this.auctions.set(event.id, [event.dateTime, event.seller]);
          else if (event.kind === 'person') this.persons.set(event.id, event.dateTime);
        }
        batches[n % this.partitions]!.push({ key: null, value: JSON.stringify(event), headers: {} });
      }
      await Promise.all(batches.map((batch, p) => (batch.length > 0 ? this.producer!.send(this.topic, p, batch) : Promise.resolve())));
      this.written = to;
    }
  }

  /** Remembers the auctions and persons of events [0, total) without writing them (the writer process does). */
  rememberUpTo(total: number): void {
    for (let n = 0; n < total; n++) {
      const kind = this.generator.kindOf(n);
      if (kind === 'bid') continue;
      const event = this.generator.event(n);
      if (event.kind === 'auction') this.auctions.set(event.id, [event.dateTime, event.seller]);
      else if (event.kind === 'person') this.persons.set(event.id, event.dateTime);
    }
  }

  async close(): Promise<void> {
    await this.producer?.close();
  }
}

/** Reads the output topic as it fills, timing every record. */
class OutputReader {
  /** [arrival wall ms, latency ms] per record with a known cause. */
  readonly samples: [number, number][] = [];
  /** Per subtask: sequence number → value, and duplicated sequence numbers (exactly-once runs). */
  readonly bySubtask = new Map<number, Map<number, string>>();
  duplicateSeqs = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    partitions: number,
    private readonly isolation: 'read_committed' | 'read_uncommitted',
    private readonly causeOf: (value: unknown) => number | null,
    private readonly runId: () => string,
  ) {
    const offsets = new Array<number>(partitions).fill(0);
    this.loop = this.run(offsets);
  }

  private async run(offsets: number[]): Promise<void> {
    while (!this.stopped) {
      const results = await this.client.fetch(
        offsets.map((offset, partition) => ({ topic: this.topic, partition, offset })),
        { isolation: this.isolation, maxWaitMs: 10, maxBytesPerPartition: 256 << 10 },
      );
      const now = Date.now();
      for (const result of results) {
        offsets[result.partition] = Math.max(offsets[result.partition]!, result.nextOffset);
        for (const record of result.records) {
          const text = record.value?.toString('utf8') ?? 'null';
          const cause = this.causeOf(JSON.parse(text));
          if (cause !== null) this.samples.push([now, now - cause]);
          const h = readCausalflowHeaders(record.headers);
          if (h === null || h.run !== this.runId()) continue;
          let seqs = this.bySubtask.get(h.subtask);
          if (!seqs) this.bySubtask.set(h.subtask, (seqs = new Map()));
          if (seqs.has(h.seq)) this.duplicateSeqs++;
          else seqs.set(h.seq, text);
        }
      }
    }
  }

  /** Stops reading once the consumer has caught up with `ends` (or after `timeoutMs`). */
  async stopWhenCaughtUp(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline) {
      const count = this.samples.length + this.duplicateSeqs;
      if (count === last) break;
      last = count;
      await sleep(300);
    }
    this.stopped = true;
    await this.loop;
  }

  /** Latency quantiles of the samples whose cause is at or after `fromWall`. */
  figures(fromWall: number): { p50Ms: number | null; p99Ms: number | null; samples: number } {
    const latencies = this.samples.filter(([at, latency]) => at - latency >= fromWall).map(([, latency]) => latency);
    return { p50Ms: roundOrNull(percentileOf(latencies, 0.5)), p99Ms: roundOrNull(percentileOf(latencies, 0.99)), samples: latencies.length };
  }

  /** 100 ms slots of the samples, on a clock starting at `startWall`. */
  slots(startWall: number): { slots: TimelineSlot[]; outputTimes: number[] } {
    const bySlot = new Map<number, number[]>();
    const outputTimes: number[] = [];
    for (const [at, latency] of this.samples) {
      const t = at - startWall;
      outputTimes.push(t);
      const slot = Math.floor(t / 100);
      let list = bySlot.get(slot);
      if (!list) bySlot.set(slot, (list = []));
      list.push(latency);
    }
    const last = Math.max(0, ...bySlot.keys());
    const slots: TimelineSlot[] = [];
    for (let s = 0; s <= last; s++) {
      const list = bySlot.get(s) ?? [];
      slots.push({ t: s * 100, input: 0, output: list.length, p50: percentileOf(list, 0.5), p99: percentileOf(list, 0.99) });
    }
    return { slots, outputTimes: outputTimes.sort((a, b) => a - b) };
  }
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value);
}

/** The input whose event time an output record's latency counts from. */
function causeFunction(query: KafkaBenchQuery, writer: EventWriter): (value: unknown) => number | null {
  if (query === 'q1') return (value) => (value as { dateTime: number }).dateTime;
  return (value) => {
    const auction = writer.auctions.get((value as { id: number }).id);
    if (!auction) return null;
    const person = writer.persons.get(auction[1]);
    return person === undefined ? auction[0] : Math.max(auction[0], person);
  };
}

/** Builds the query job from a Kafka topic into a sink. */
function queryJob(
  query: KafkaBenchQuery,
  options: { directory: string; mode: RecoveryMode; parallelism: number; checkpointIntervalMs: number; retain: boolean },
  source: Awaited<ReturnType<typeof kafkaSource<NexmarkEvent>>>,
  sink: Sink<unknown>,
): Job {
  const job = new Job({
    name: `bench-kafka-${query}`,
    parallelism: options.parallelism,
    directory: options.directory,
    recovery: { mode: options.mode, checkpointIntervalMs: options.checkpointIntervalMs },
    retainDeterminants: options.retain,
  });
  const events = job.source(source, { name: 'nexmark', watermarks: {} });
  QUERIES[query].build(events).sink(sink, { name: 'kafka-out' });
  return job;
}

/** The task a recovery run kills: the join of Q3, the conversion of Q1. */
function killTarget(query: KafkaBenchQuery): string {
  return query === 'q3' ? 'q3-join[0]' : 'q1-euros[0]';
}

/** Runs `kafka-writer.ts` in a child process (a producer with a core of its own); resolves with what it reports. */
/** The event writer, a child process (a producer with a core of its own): started, then told when to begin. */
interface WriterProcess {
  /** The wall-clock time event 0 is due (the generator's base time). */
  startWall: number;
  /** Resolves with what the writer reports once it wrote everything. */
  done: Promise<{ written: number; writtenPerSec: number }>;
}

/** Starts `kafka-writer.ts` in a child process; resolves once it is connected and its schedule begins. */
function startWriterProcess(options: WriterOptions): Promise<WriterProcess> {
  const here = fileURLToPath(import.meta.url);
  const script = join(here, '..', `kafka-writer${extname(here)}`);
  // In a checkout the sources are TypeScript: load them through tsx, resolved from here.
  const args = extname(here) === '.ts' ? ['--import', import.meta.resolve('tsx'), script] : [script];
  return new Promise((resolveStarted, reject) => {
    const child = spawn(process.execPath, [...args, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let started = false;
    let resolveDone!: (value: { written: number; writtenPerSec: number }) => void;
    let rejectDone!: (error: Error) => void;
    const done = new Promise<{ written: number; writtenPerSec: number }>((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    done.catch(() => {});
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!started && out.includes('"ready":true')) {
        started = true;
        const startWall = Date.now() + 200;
        child.stdin.end(`${startWall}\n`);
        resolveStarted({ startWall, done });
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{"written"')) {
        resolveDone(JSON.parse(last) as { written: number; writtenPerSec: number });
        return;
      }
      const error = new Error(`the event writer exited with code ${code}`);
      if (!started) reject(error);
      rejectDone(error);
    });
  });
}

/** Runs the Kafka benchmark. */
export async function runKafkaBench(options: KafkaBenchOptions): Promise<KafkaBenchResult> {
  const progress = options.onProgress ?? (() => {});
  const parallelism = options.parallelism ?? 2;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 1000;
  const seconds = options.seconds ?? 8;
  const events = options.events ?? 200_000;
  const scratch = mkdtempSync(join(tmpdir(), 'causalflow-bench-kafka-'));
  let ownBroker: string | null = null;
  let brokers = options.brokers;
  if (brokers === undefined) {
    ownBroker = join(scratch, 'broker');
    progress('starting a Kafka broker');
    brokers = (await startBroker({ dir: ownBroker, onProgress: progress })).brokers;
  }
  const client = createKafkaClient({ brokers: [brokers], clientId: 'causalflow-bench' });
  await client.connect();
  let topics = 0;
  const newTopic = async (label: string): Promise<string> => {
    const topic = `cf-bench-${options.query}-${label}-${process.pid}-${++topics}-${Date.now().toString(36)}`;
    await client.createTopic(topic, parallelism, 1);
    return topic;
  };
  const result: KafkaBenchResult = {
    bench: 'kafka',
    workers: 0,
    query: options.query,
    eventsPerSec: null,
    exactlyOnce: { p50Ms: null, p99Ms: null, recoveryMs: null, duplicates: null, lost: null, settledMs: null, outputGapMs: null, killed: null },
    transactional: { p50Ms: null, p99Ms: null },
    pipelineEventsPerSec: null,
    rate: null,
    writerEventsPerSec: null,
    parallelism,
    checkpointIntervalMs,
    kafkaVersion: '4.4.0',
    runs: { exactlyOnce: null, transactional: null, recovery: null },
    peakRssMB: 0,
  };
  try {
    // 1. Maximum rate.
    const maxInput = await newTopic('max-in');
    const maxOutput = await newTopic('max-out');
    progress(`writing ${events} Nexmark events to ${maxInput}`);
    const maxWriter = new EventWriter(client, maxInput, parallelism, new NexmarkGenerator({ eventRate: BENCH_EVENT_RATE }), false);
    const writeStarted = performance.now();
    await maxWriter.writeUpTo(events);
    await maxWriter.close();
    result.writerEventsPerSec = Math.round(events / ((performance.now() - writeStarted) / 1000));
    progress(`the writer wrote ${result.writerEventsPerSec} events/s`);
    {
      const source = await kafkaSource<NexmarkEvent>({ brokers, topic: maxInput, end: 'latest', groupId: null, timestamp: (_m, e) => e.dateTime });
      const sink = await kafkaSink<unknown>({ brokers, topic: maxOutput });
      progress(`${options.query} at full speed from ${maxInput} (exactly-once)`);
      const job = queryJob(options.query, { directory: join(scratch, 'max'), mode: 'exactly-once', parallelism, checkpointIntervalMs, retain: false }, source, sink);
      const started = performance.now();
      await job.run();
      await sink.flush();
      const elapsed = (performance.now() - started) / 1000;
      result.eventsPerSec = Math.round(events / elapsed);
      progress(`${result.eventsPerSec} events/s (${events} events in ${elapsed.toFixed(2)} s)`);
      await Promise.all([source.close(), sink.close()]);
    }

    // 2 and 3. Paced runs.
    // `rate` null: the writer writes `events` as fast as it can (the pipeline's maximum).
    const paced = async (
      label: string,
      mode: RecoveryMode,
      delivery: 'exactly-once' | 'transactional',
      kill: string | null,
      rate: number | null,
    ): Promise<{ figures: PacedFigures; reader: OutputReader; handle: JobHandle; sink: KafkaSink<unknown>; input: string; ends: number[]; startWall: number; killWall: number | null; flushedWall: number; total: number }> => {
      const input = await newTopic(`${label}-in`);
      const output = await newTopic(`${label}-out`);
      const total = rate === null ? events : Math.round(rate * seconds);
      const eventRate = rate ?? BENCH_EVENT_RATE;
      const ends = Array.from({ length: parallelism }, (_, p) => (total <= p ? 0 : Math.floor((total - 1 - p) / parallelism) + 1));
      const source = await kafkaSource<NexmarkEvent>({ brokers: brokers!, topic: input, end: ends, groupId: null, timestamp: (_m, e) => e.dateTime });
      const sink = await kafkaSink<unknown>({ brokers: brokers!, topic: output, delivery });
      let known: EventWriter | null = null;
      const reader = new OutputReader(client, output, parallelism, delivery === 'transactional' ? 'read_committed' : 'read_uncommitted', (value) => (known === null ? null : causeFunction(options.query, known)(value)), () => sink.runId);
      progress(rate === null ? `${options.query}: ${total} events written as fast as the writer can while the job reads them (${delivery})` : `${options.query} at ${rate} events/s for ${seconds} s, ${delivery}${kill ? `, killing ${kill} after ${seconds / 2} s` : ''}`);
      const job = queryJob(options.query, { directory: join(scratch, label), mode, parallelism, checkpointIntervalMs, retain: kill !== null }, source, sink);
      const handle = await job.start();
      let killWall: number | null = null;
      handle.onEvent((event) => {
        if (event.type === 'task-failed' && killWall === null) killWall = Date.now();
      });
      const writing = await startWriterProcess({ brokers: brokers!, topic: input, partitions: parallelism, total, rate: rate ?? Number.MAX_SAFE_INTEGER, eventRate });
      const startWall = writing.startWall;
      const killTimer = kill === null ? null : setTimeout(() => handle.kill(kill), startWall + (seconds * 1000) / 2 - Date.now());
      known = new EventWriter(client, input, parallelism, new NexmarkGenerator({ eventRate, baseTime: startWall }), true);
      if (options.query === 'q3') known.rememberUpTo(total);
      const { writtenPerSec } = await writing.done;
      if (killTimer !== null) clearTimeout(killTimer);
      await handle.done;
      await sink.flush();
      const flushedWall = Date.now();
      await reader.stopWhenCaughtUp();
      await source.close();
      const figures = { ...reader.figures(startWall + WARMUP_MS), writtenPerSec };
      if (process.env.CAUSALFLOW_BENCH_DUMP) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(`${process.env.CAUSALFLOW_BENCH_DUMP}-${label}.json`, JSON.stringify(reader.samples.map(([at, latency]) => [at - startWall, latency])));
      }
      progress(`${label}: p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms over ${figures.samples} output records (writer ${writtenPerSec} events/s)`);
      return { figures, reader, handle, sink, input, ends, startWall, killWall, flushedWall, total };
    };

    // The pipeline's maximum: writer, job, sink and consumer at once (they share this machine's cores
    // with the broker); the paced runs go at half of it.
    const full = await paced('pipeline', 'exactly-once', 'exactly-once', null, null);
    await full.sink.close();
    result.pipelineEventsPerSec = Math.round(full.total / ((full.flushedWall - full.startWall) / 1000));
    progress(`pipeline: ${result.pipelineEventsPerSec} events/s from the first write to the last output in Kafka`);
    const rate = options.rate ?? Math.max(1000, Math.round(Math.min(result.eventsPerSec, result.pipelineEventsPerSec) / 2));
    result.rate = rate;

    const eo = await paced('exactly-once', 'exactly-once', 'exactly-once', null, rate);
    await eo.sink.close();
    result.runs.exactlyOnce = eo.figures;
    result.exactlyOnce.p50Ms = eo.figures.p50Ms;
    result.exactlyOnce.p99Ms = eo.figures.p99Ms;

    const txn = await paced('transactional', 'global-rollback', 'transactional', null, rate);
    await txn.sink.close();
    result.runs.transactional = txn.figures;
    result.transactional = { p50Ms: txn.figures.p50Ms, p99Ms: txn.figures.p99Ms };

    const target = killTarget(options.query);
    const rec = await paced('recovery', 'exactly-once', 'exactly-once', target, rate);
    await rec.sink.close();
    result.runs.recovery = rec.figures;
    result.exactlyOnce.killed = target;
    if (rec.killWall !== null) {
      const { slots, outputTimes } = rec.reader.slots(rec.startWall);
      const killAt = rec.killWall - rec.startWall;
      // The contract's band: up to the 95th percentile of the pre-kill slots' medians, plus 10%.
      const before = slots.filter((slot) => slot.t >= WARMUP_MS && slot.t + 100 <= killAt && slot.p50 !== null).map((slot) => slot.p50!);
      const baseline = percentileOf(before, 0.5);
      const p95 = percentileOf(before, 0.95);
      const tolerance = baseline !== null && p95 !== null && baseline > 0 ? Math.max(0.1, (p95 * 1.1) / baseline - 1) : 0.1;
      const f = recoveryFigures(slots, outputTimes, { killAt, warmupMs: WARMUP_MS, tolerance });
      result.exactlyOnce.recoveryMs = roundOrNull(f.recoveryMs);
      result.exactlyOnce.settledMs = roundOrNull(f.settledMs);
      result.exactlyOnce.outputGapMs = roundOrNull(f.outputGapMs);
      progress(`recovery after killing ${target}: ${f.recoveryMs === null ? 'not settled' : `${Math.round(f.recoveryMs)} ms`} (settled ${f.settledMs === null ? 'n/a' : Math.round(f.settledMs)} ms, output gap ${f.outputGapMs === null ? 'n/a' : Math.round(f.outputGapMs)} ms)`);
    }
    // The oracle: the run's traces replayed over the same input topic.
    progress('checking the output topic against an oracle replay');
    const oracleSource = await kafkaSource<NexmarkEvent>({ brokers, topic: rec.input, end: rec.ends, groupId: null, timestamp: (_m, e) => e.dateTime });
    const oracleSink = collectSink('oracle');
    const oracleJob = queryJob(options.query, { directory: join(scratch, 'oracle'), mode: 'exactly-once', parallelism, checkpointIntervalMs, retain: true }, oracleSource, oracleSink);
    await (await oracleJob.replay(rec.handle.traces())).done;
    await oracleSource.close();
    let duplicates = rec.reader.duplicateSeqs;
    let lost = 0;
    const subtasks = Math.max(oracleSink.partitionCount, rec.reader.bySubtask.size);
    for (let s = 0; s < subtasks; s++) {
      const counts = new Map<string, number>();
      for (const record of oracleSink.partition(s)) {
        const key = JSON.stringify(record);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const value of rec.reader.bySubtask.get(s)?.values() ?? []) {
        const left = counts.get(value) ?? 0;
        if (left === 0) duplicates++;
        else counts.set(value, left - 1);
      }
      for (const left of counts.values()) lost += left;
    }
    result.exactlyOnce.duplicates = duplicates;
    result.exactlyOnce.lost = lost;
    progress(`oracle: ${duplicates} duplicates, ${lost} lost`);
  } finally {
    await client.close().catch(() => {});
    if (ownBroker !== null) await stopBroker({ dir: ownBroker }).catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
    result.peakRssMB = peakRssMB();
  }
  return result;
}
