import test, { type ExecutionContext } from 'ava';
import { CollectSink, ExactlyOnceLostError, Job, sequence, type JobHandle, type JobResult, type Sink, type SinkPartition } from '../../lib/index.js';
import { jobDirectory } from '../helpers/jobs.js';

// Regressions of issue 8, defect 1: an external call whose answer decides the next key feeds a keyed
// running total. When a producer and its consumer fail together, the producer's replacement used to go
// live at once while the consumer was dead and not yet replaced (its recovery waited for a checkpoint to
// persist); the consumer's replacement then replayed against answers the producer made up anew. The sink
// showed the first answer, the recovered state used the second, and nothing was reported.
//
// Every run here is checked by a witness that needs nothing of the runtime: each record carries the
// running total before and after it, so the per-key chain breaks as soon as state and output disagree.

const COUNT = 2400;
/** Checkpoints after which the failure is injected: each is one seeded run. */
const CHECKPOINTS = [2, 3, 4, 5];
/** Kill times (ms) of the runs that kill on a schedule: each is one seeded run. */
const KILL_TIMES = [150, 200, 250, 300];

interface Priced {
  n: number;
  price: number;
}
interface Totalled extends Priced {
  key: number;
  before: number;
  after: number;
}

/** An in-process quote service whose answer changes on every call; it logs every call by record. */
class QuoteService {
  readonly calls = new Map<number, number[]>();
  private counter: number;

  constructor(seed: number) {
    this.counter = seed * 7919;
  }

  async quote(n: number): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const answer = (this.counter++ * 7919) % 1000;
    const seen = this.calls.get(n) ?? [];
    seen.push(answer);
    this.calls.set(n, seen);
    return answer;
  }
}

/**
 * numbers → call (async, ctx.call) → keyBy(answer) → totals → out. With `sinkChained`, out is chained
 * into totals (the sink task is fed by call directly); otherwise out is a task of its own.
 */
function pricedTotals(t: ExecutionContext, service: QuoteService, options: { dsd: number; sinkChained: boolean; onEscalation?: 'fail' | 'rollback'; sinkReadyMs?: number }) {
  const job = new Job({
    name: 'priced-totals',
    parallelism: 1,
    directory: jobDirectory(t),
    recovery: { mode: 'exactly-once', dsd: options.dsd, checkpointIntervalMs: 40, onEscalation: options.onEscalation ?? 'fail' },
  });
  const totals = job
    .source(sequence((n) => ({ n }), { count: COUNT, rate: 6000, partitions: 2 }), { name: 'numbers' })
    .rebalance()
    .process<Priced>(
      {
        async processElement(r: { n: number }, ctx) {
          const price = await ctx.call('quote', () => service.quote(r.n));
          ctx.emit({ n: r.n, price });
        },
      },
      { name: 'call', async: true },
    )
    .keyBy((r) => r.price % 4)
    .process<Totalled>(
      {
        processElement(r, ctx) {
          const total = ctx.state.value<number>('total');
          const before = total.value() ?? 0;
          total.update(before + r.price);
          ctx.emit({ ...r, key: r.price % 4, before, after: before + r.price });
        },
      },
      { name: 'totals' },
    );
  const sink = new CollectSink<Totalled>('out');
  (options.sinkChained ? totals : totals.rebalance()).sink(slowToOpen(sink, options.sinkReadyMs ?? 0), { name: 'out' });
  return { job, sink };
}

/** `sink`, whose partitions take `ms` to get ready when opened (an external system reading its tail). */
function slowToOpen<T>(sink: CollectSink<T>, ms: number): Sink<T> {
  if (ms === 0) return sink;
  return {
    name: sink.name,
    open(context) {
      const partition = sink.open(context);
      const ready = new Promise<void>((resolve) => setTimeout(resolve, ms));
      const slow: SinkPartition<T> = {
        ready: () => ready,
        write: (records, firstIndex, determinants) => partition.write(records, firstIndex, determinants),
        determinants: () => partition.determinants!(),
        pruneDeterminants: (keep) => partition.pruneDeterminants!(keep),
        visibleCount: () => partition.visibleCount(),
        stage: (txn, records) => partition.stage(txn, records),
        commit: (txn) => partition.commit(txn),
        abortAfter: (txn) => partition.abortAfter(txn),
      };
      return slow;
    },
  };
}

/** Kills `first` right after every task acknowledged checkpoint `checkpoint`, and `second` on the next turn of the event loop, while the checkpoint is still being persisted. */
function killWhilePersisting(handle: JobHandle, checkpoint: number, first: string, second: string): () => boolean {
  let fired = false;
  handle.onEvent((event) => {
    if (fired || event.type !== 'checkpoint-acknowledged' || event.id < checkpoint) return;
    fired = true;
    handle.kill(first);
    setImmediate(() => handle.kill(second));
  });
  return () => fired;
}

/** What the witness found in one partition of output. */
interface Witness {
  records: number;
  brokenChains: number;
  duplicates: number;
  missing: number;
  /** Records whose answer is not the service's answer to their only call (a call made again after it was used). */
  remadeCalls: number;
}

function witness(records: readonly Totalled[], service: QuoteService): Witness {
  const last = new Map<number, number>();
  const seen = new Set<number>();
  const found: Witness = { records: records.length, brokenChains: 0, duplicates: 0, missing: 0, remadeCalls: 0 };
  for (const r of records) {
    if (r.after !== r.before + r.price || (last.get(r.key) ?? 0) !== r.before) found.brokenChains++;
    last.set(r.key, r.after);
    if (seen.has(r.n)) found.duplicates++;
    seen.add(r.n);
    const answers = service.calls.get(r.n) ?? [];
    // A call made again after a failure is fine only if its first answer was never used: the record must
    // carry the last answer the service gave for it.
    if (answers[answers.length - 1] !== r.price) found.remadeCalls++;
  }
  for (let n = 0; n < COUNT; n++) if (!seen.has(n)) found.missing++;
  return found;
}

const clean = (w: Witness): boolean => w.brokenChains === 0 && w.duplicates === 0 && w.missing === 0 && w.remadeCalls === 0;

test('I14: the task feeding a sink task and the sink task fail together at dsd 1: the sink store holds the producer log, recovery is exactly once (seeded by checkpoint)', async (t) => {
  for (const checkpoint of CHECKPOINTS) {
    const service = new QuoteService(checkpoint);
    const { job, sink } = pricedTotals(t, service, { dsd: 1, sinkChained: true });
    const handle = await job.start();
    const fired = killWhilePersisting(handle, checkpoint, 'call[0]', 'out[0]');
    const result = await handle.done;
    t.true(fired(), `checkpoint ${checkpoint}: the failures were injected`);
    const found = witness(sink.partition(0) as Totalled[], service);
    t.log(`checkpoint ${checkpoint}: ${result.recoveries} recoveries, ${result.escalations} escalations, witness ${JSON.stringify(found)}`);
    t.is(result.escalations, 0, `checkpoint ${checkpoint}: no escalation`);
    t.true(clean(found), `checkpoint ${checkpoint}: ${JSON.stringify(found)}`);
    t.deepEqual(result.guarantee, { kind: 'exactly-once' });
  }
});

test('I14: a producer dies with the sink while its consumer dies during their recovery (dsd 1, a sink slow to read its tail): the producer replacement waits for the consumer replacement, then escalates visibly, never diverging quietly', async (t) => {
  for (const killAt of KILL_TIMES) {
    const service = new QuoteService(killAt);
    const { job, sink } = pricedTotals(t, service, { dsd: 1, sinkChained: false, sinkReadyMs: 25 });
    const handle = await job.start({
      faults: [
        // The producer and the sink die in one instant; their recovery waits for the dead sink partition
        // to read its tail (as a Kafka sink does). Meanwhile the consumer between them dies too: the
        // producer's replacement must not go live before the consumer's replacement exists.
        { task: ['call[0]', 'out[0]'], afterMs: killAt },
        { task: 'totals[0]', afterMs: killAt + 5 },
      ],
    });
    const fired = () => handle.events().filter((e) => e.type === 'task-failed').length >= 3;
    let result: JobResult | null = null;
    let failure: unknown = null;
    try {
      result = await handle.done;
    } catch (error) {
      failure = error;
    }
    t.true(fired(), `kill at ${killAt} ms: the failures were injected`);
    const found = witness(sink.partition(0) as Totalled[], service);
    const escalated = handle.events().some((e) => e.type === 'escalated');
    t.log(`kill at ${killAt} ms: ${escalated ? 'escalated' : 'recovered locally'}, ${failure ? (failure as Error).constructor.name : 'finished'}, witness ${JSON.stringify(found)}`);
    if (failure !== null) {
      // The only acceptable failure: the job refused to break exactly-once, and said which sink.
      t.true(failure instanceof ExactlyOnceLostError, String(failure));
      t.true(escalated);
      // What the sink showed before the job stopped is still one consistent execution.
      t.is(found.brokenChains + found.duplicates + found.remadeCalls, 0, JSON.stringify(found));
    } else {
      // Recovered locally (the consumer had consumed nothing past the checkpoint): then it must be exact.
      t.false(escalated);
      t.true(clean(found), JSON.stringify(found));
      t.deepEqual(result!.guarantee, { kind: 'exactly-once' });
    }
  }
});

test('the same failures at dsd 2 keep a copy of the producer log downstream: exactly once, no escalation', async (t) => {
  for (const checkpoint of CHECKPOINTS.slice(0, 2)) {
    const service = new QuoteService(checkpoint);
    const { job, sink } = pricedTotals(t, service, { dsd: 2, sinkChained: false });
    const handle = await job.start();
    killWhilePersisting(handle, checkpoint, 'call[0]', 'totals[0]');
    const result = await handle.done;
    const found = witness(sink.partition(0) as Totalled[], service);
    t.is(result.escalations, 0);
    t.true(clean(found), `checkpoint ${checkpoint}: ${JSON.stringify(found)}`);
  }
});

test('with onEscalation "rollback" the same loss rolls back, the sink shows every record at least once, and the result says at-least-once since the checkpoint', async (t) => {
  const service = new QuoteService(9);
  const { job, sink } = pricedTotals(t, service, { dsd: 1, sinkChained: false, onEscalation: 'rollback' });
  const handle = await job.start();
  // Both at once, in one instant: the simplest form of the loss.
  handle.kill(['call[0]', 'totals[0]'], { afterMs: 150 });
  const result = await handle.done;
  const found = witness(sink.partition(0) as Totalled[], service);
  t.log(JSON.stringify(result.guarantee), JSON.stringify(found));
  t.true(result.escalations >= 1);
  t.is(found.missing, 0, 'nothing lost');
  if (result.guarantee.kind === 'at-least-once') {
    t.deepEqual(result.guarantee.sinks, ['out']);
  } else {
    // The sink showed nothing past the checkpoint yet: the rollback kept exactly-once.
    t.true(clean(found));
  }
});
