/**
 * The verifier's built-in jobs. Each is nondeterministic on purpose, and together they exercise every
 * determinant kind:
 *
 * | Job | Determinants it depends on |
 * | --- | --- |
 * | `processing-time-windows` | TIMER (clock ticks, window timers), ORDER |
 * | `random-sampling` | RANDOM_SEED, CLOCK, ORDER |
 * | `external-calls` | EXTERNAL (`fetch` to the witness server, captured by `causal()`), ORDER |
 * | `call-keyed-totals-p{1,2}-{chained,sink-task}` | EXTERNAL (`ctx.call` around `fetch`); the answer decides the next key (issue 8, defect 1) |
 * | `racing-inputs` | ORDER (two sources at different rates feeding one stateful operator) |
 * | `timers` | TIMER (processing-time timers), CLOCK, MONOTONIC_CLOCK |
 * | `captured-globals` | `Math.random`, `Date.now`, `new Date()`, `crypto.randomUUID`, `performance.now` inside `causal()`, and a `@recorded` method calling the server |
 *
 * Every job reads paced sources (SOURCE_POLL: the pace decides how many records a poll returns) and
 * checkpoints often (SOURCE_BARRIER); kills abandon checkpoints (ABORT_CHECKPOINT).
 *
 * Every output record carries what produced it — its source fields, draws, clock reads, the server's
 * answers, the keyed state before and after it, a window's members — in the shapes of
 * `witness/rules.ts`, so that the witness can recompute it without the runtime. Every record has a
 * `uid` unique in a correct output.
 */
import { CollectSink } from '../connectors/collect.js';
import { sequence } from '../connectors/collection.js';
import { Job } from '../api/job.js';
import type { JobOptions } from '../config.js';
import { tumbling } from '../operators/window.js';
import { causal } from '../causal/capture.js';
import { recorded } from '../causal/decorators.js';
import type { KeyedProcessContext } from '../operators/functions.js';
import { TOKEN_HEADER, type ServiceAddress } from './witness/server.js';
import {
  ANSWER_KEYS,
  CALL_COUNT,
  CALL_RATE,
  COUNT,
  RATE,
  SAMPLE_SHARE,
  TIMER_DELAY_MS,
  TIMER_KEYS,
  WINDOW_KEYS,
  WINDOW_MS,
  type AnswerRecord,
  type GlobalsRecord,
  type RaceRecord,
  type SampleRecord,
  type TimerRecord,
  type WindowRecord,
} from './witness/rules.js';

/** A built-in verification job, built fresh for every run (and again for its oracle). */
export interface VerifyJob {
  /** Job name; also names its witness rule (`witness/rules.ts`). */
  readonly name: string;
  /**
   * Builds the job with `options`, calling the witness server at `service`; returns it and its sink. Its
   * sources run at `pace` times their usual rate (default 1; worker processes run slower jobs).
   */
  build(options: JobOptions, service: ServiceAddress, pace?: number): { job: Job; sink: CollectSink<{ uid: string }> };
}

/** Asks the witness server about record `id`; throws unless it answers (a refusal fails the task). */
export async function askServer(service: ServiceAddress, id: string): Promise<number> {
  const response = await fetch(`${service.url}/answer?id=${encodeURIComponent(id)}`, { headers: { [TOKEN_HEADER]: service.token } });
  const body = (await response.json()) as { answer?: number; error?: string };
  if (!response.ok || typeof body.answer !== 'number') throw new Error(`witness server: ${response.status} ${body.error ?? ''}`);
  return body.answer;
}

/** A class-based async operator whose server call is a `@recorded` method; keeps a running total per key. */
class Enricher {
  constructor(private readonly service: ServiceAddress) {}

  @recorded('enrich')
  async lookup(uid: string): Promise<number> {
    return askServer(this.service, uid);
  }

  async processElement(r: Omit<GlobalsRecord, 'answer' | 'before' | 'after' | 'key'>, ctx: KeyedProcessContext<number, GlobalsRecord>): Promise<void> {
    const answer = await this.lookup(r.uid);
    const total = ctx.state.value<number>('total');
    const before = total.value() ?? 0;
    total.update(before + answer);
    ctx.emit({ ...r, key: ctx.key, answer, before, after: before + answer });
  }
}

/** Adds `answer` to the running total of the current key and emits the record with its chain. */
function totalled(r: { uid: string; n: number; answer: number }, key: number, ctx: KeyedProcessContext<number, AnswerRecord>): void {
  const total = ctx.state.value<number>('total');
  const before = total.value() ?? 0;
  total.update(before + r.answer);
  ctx.emit({ uid: r.uid, n: r.n, key, answer: r.answer, before, after: before + r.answer });
}

/** Issue 8, defect 1: numbers → call (async, ctx.call) → keyBy(answer) → totals → out, at `parallelism`, the sink chained or in a task of its own. */
function callKeyedTotals(parallelism: 1 | 2, sinkTask: boolean): VerifyJob {
  return {
    name: `call-keyed-totals-p${parallelism}-${sinkTask ? 'sink-task' : 'chained'}`,
    build(options, service, pace = 1) {
      const job = new Job({ ...options, parallelism, name: 'verify-call-keyed-totals' });
      const totals = job
        .source(sequence((n) => ({ n }), { count: CALL_COUNT, rate: CALL_RATE * pace, partitions: 2 }), { name: 'numbers' })
        .rebalance()
        .process<{ uid: string; n: number; answer: number }>(
          {
            async processElement(r, ctx) {
              const uid = String(r.n);
              const answer = await ctx.call('quote', () => askServer(service, uid));
              ctx.emit({ uid, n: r.n, answer });
            },
          },
          { name: 'call', async: true },
        )
        .keyBy((r) => r.answer % ANSWER_KEYS)
        .process<AnswerRecord>({ processElement: (r, ctx) => totalled(r, ctx.key, ctx) }, { name: 'totals' });
      // In a task of its own, the sink is fed by key, so that a key's chain stays in one partition.
      const sink = (sinkTask ? totals.keyBy((r) => r.key) : totals).collect({ name: 'out' });
      return { job, sink };
    },
  };
}

/** The built-in jobs, by name. */
export const VERIFY_JOBS: readonly VerifyJob[] = [
  {
    name: 'processing-time-windows',
    build(options, _service, pace = 1) {
      const job = new Job({ ...options, name: 'verify-windows' });
      const sink = job
        .source(sequence((n) => ({ k: n % WINDOW_KEYS, n }), { count: COUNT, rate: RATE * pace, partitions: 2 }), { name: 'numbers' })
        .keyBy((r) => r.k)
        .window(tumbling(WINDOW_MS, { time: 'processing' }))
        .process<WindowRecord>(
          (key, window, values) => {
            const members = values.map((v) => v.n);
            return { uid: `${key}@${window.end}`, key, start: window.start, end: window.end, count: members.length, sum: members.reduce((s, m) => s + m, 0), members };
          },
          { name: 'windows' },
        )
        .collect({ name: 'out' });
      return { job, sink };
    },
  },
  {
    name: 'random-sampling',
    build(options, _service, pace = 1) {
      const job = new Job({ ...options, name: 'verify-sampling' });
      const sink = job
        .source(sequence((n) => ({ n }), { count: COUNT, rate: RATE * pace, partitions: 2 }), { name: 'numbers' })
        .rebalance()
        .process<Omit<SampleRecord, 'key' | 'before' | 'after'>>(
          {
            processElement(r, ctx) {
              const draw = ctx.random();
              const kept = draw < SAMPLE_SHARE;
              ctx.emit({ uid: String(r.n), n: r.n, draw, kept, id: kept ? ctx.randomUUID() : null, at: ctx.now() });
            },
          },
          { name: 'sample' },
        )
        .keyBy((r) => r.n % 8)
        .process<SampleRecord>(
          {
            processElement(r, ctx) {
              const kept = ctx.state.value<number>('kept');
              const before = kept.value() ?? 0;
              const after = before + (r.kept ? 1 : 0);
              kept.update(after);
              ctx.emit({ ...r, key: ctx.key, before, after });
            },
          },
          { name: 'rank' },
        )
        .collect({ name: 'out' });
      return { job, sink };
    },
  },
  {
    name: 'external-calls',
    build(options, service, pace = 1) {
      const job = new Job({ ...options, name: 'verify-external' });
      const sink = job
        .source(sequence((n) => ({ k: n % 16, n }), { count: CALL_COUNT, rate: CALL_RATE * pace, partitions: 2 }), { name: 'orders' })
        .keyBy((r) => r.k)
        .process<AnswerRecord>(
          // fetch, unmodified, inside causal(): the capture records status, headers and body.
          causal({
            async processElement(r: { k: number; n: number }, ctx: KeyedProcessContext<number, AnswerRecord>) {
              const uid = String(r.n);
              totalled({ uid, n: r.n, answer: await askServer(service, uid) }, r.k, ctx);
            },
          }),
          { name: 'price', async: true },
        )
        .collect({ name: 'out' });
      return { job, sink };
    },
  },
  callKeyedTotals(1, false),
  callKeyedTotals(1, true),
  callKeyedTotals(2, false),
  callKeyedTotals(2, true),
  {
    name: 'racing-inputs',
    build(options, _service, pace = 1) {
      const job = new Job({ ...options, name: 'verify-racing' });
      type Arrival = { k: number; n: number; from: 'fast' | 'slow' };
      const fast = job.source(sequence((n): Arrival => ({ k: n % 10, n, from: 'fast' }), { count: COUNT, rate: RATE * pace, partitions: 2 }), { name: 'fast' });
      const slow = job.source(sequence((n): Arrival => ({ k: n % 10, n, from: 'slow' }), { count: COUNT / 4, rate: (RATE * pace) / 4, partitions: 2 }), { name: 'slow' });
      // Whatever arrives first gets the next number of its key: the output depends on arrival order.
      const next = (r: Arrival, ctx: KeyedProcessContext<unknown, RaceRecord>): void => {
        const last = ctx.state.value<string>('last');
        const seq = ctx.state.value<number>('seq');
        const before = seq.value() ?? 0;
        seq.update(before + 1);
        const uid = `${r.from}:${r.n}`;
        ctx.emit({ uid, from: r.from, n: r.n, key: r.k, before, after: before + 1, prev: last.value() ?? '' });
        last.update(uid);
      };
      const sink = fast
        .connect(slow)
        .keyBy(
          (r) => r.k,
          (r) => r.k,
        )
        .process<RaceRecord>({ processElement1: next, processElement2: next }, { name: 'race' })
        .collect({ name: 'out' });
      return { job, sink };
    },
  },
  {
    name: 'timers',
    build(options, _service, pace = 1) {
      const job = new Job({ ...options, name: 'verify-timers' });
      type Armed = { armedAt: number; due: number };
      const flush = (ctx: KeyedProcessContext<number, TimerRecord>, fired: Omit<TimerRecord, 'uid' | 'key' | 'index' | 'before' | 'after' | 'members'>): void => {
        const index = (ctx.state.value<number>('fired').value() ?? 0) + 1;
        const members = ctx.state.value<number[]>('members').value() ?? [];
        const before = ctx.state.value<number>('seen').value() ?? 0;
        ctx.emit({ uid: `${ctx.key}#${index}`, key: ctx.key, index, before, after: before + members.length, members, ...fired });
        ctx.state.value<number>('fired').update(index);
        ctx.state.value<number>('seen').update(before + members.length);
        ctx.state.value<number[]>('members').clear();
        ctx.state.value<Armed>('armed').clear();
      };
      const sink = job
        .source(sequence((n) => ({ k: n % TIMER_KEYS, n }), { count: COUNT, rate: RATE * pace, partitions: 2 }), { name: 'events' })
        .keyBy((r) => r.k)
        .process<TimerRecord>(
          {
            processElement(r, ctx) {
              const members = ctx.state.value<number[]>('members');
              members.update([...(members.value() ?? []), r.n]);
              const armed = ctx.state.value<Armed>('armed');
              const pending = armed.value();
              if (r.n >= COUNT - TIMER_KEYS) {
                // The key's last record: what a pending timer would collect is flushed now, as a task that
                // finishes drops its pending processing-time timers.
                if (pending !== undefined) ctx.timers.deleteProcessingTime(pending.due);
                flush(ctx, { cause: 'end', armedAt: null, due: null, firedAt: null, mono: null });
              } else if (pending === undefined) {
                const armedAt = ctx.now();
                armed.update({ armedAt, due: armedAt + TIMER_DELAY_MS });
                ctx.timers.registerProcessingTime(armedAt + TIMER_DELAY_MS);
              }
            },
            onTimer(timestamp, ctx) {
              const armed = ctx.state.value<Armed>('armed').value();
              flush(ctx, { cause: 'timer', armedAt: armed?.armedAt ?? null, due: timestamp, firedAt: ctx.now(), mono: ctx.monotonicNow() });
            },
          },
          { name: 'timers' },
        )
        .collect({ name: 'out' });
      return { job, sink };
    },
  },
  {
    name: 'captured-globals',
    build(options, service, pace = 1) {
      const job = new Job({ ...options, name: 'verify-captured' });
      const sink = job
        .source(sequence((n) => ({ n }), { count: COUNT / 3, rate: (RATE * pace) / 3, partitions: 2 }), { name: 'numbers' })
        .map(
          // An existing function, unmodified, reading the globals: causal() records what they answer.
          causal((r: { n: number }) => {
            const draw = Math.random();
            return { uid: String(r.n), n: r.n, draw, pick: Math.floor(draw * 1000), id: crypto.randomUUID(), wall: Date.now(), date: new Date().getTime(), mono: performance.now() };
          }),
          { name: 'globals' },
        )
        .keyBy((r) => r.n % 8)
        .process(new Enricher(service) as never, { name: 'enrich', async: true })
        .collect({ name: 'out' });
      return { job, sink: sink as CollectSink<{ uid: string }> };
    },
  },
];
