/**
 * `RecoveryQueries.historyOf` (I32): a failed task's trace before the checkpoint it restores, for the
 * verifier's oracle. Where the task acknowledged that checkpoint, the epochs it reported closed are the whole
 * history, and no copy or stored envelope is read; otherwise the copies are read and closed epochs win.
 * `collectCopies` and `sinkDeterminants` ask every worker at once and keep their answers in a fixed order.
 */
import test from 'ava';
import type { EpochSegment } from '../../determinants/replica.js';
import { RecoveryQueries, type RecoveryQueriesHost } from '../../lib/runtime/executor/recovery-queries.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** A job of one task (id 0) on worker 0, which is gone, and one live worker holding a copy of task 0's log. */
function queriesWith(closed: Map<number, Uint8Array>, closedThrough: number, copy: EpochSegment[]) {
  const asked = { replicas: 0 };
  const liveWorker = {
    async replicas(taskIds: readonly number[]) {
      asked.replicas++;
      return new Map(taskIds.includes(0) ? [[0, copy]] : []);
    },
  };
  const host = {
    plan: { tasks: [{ id: 0, name: 'task[0]', inputs: [], outputs: [[]] }], vertices: [], channels: [] },
    links: [null, liveWorker],
    placement: [0],
    nodes: [],
    incarnations: [],
    isDead: () => true,
    closedEpochs: (taskId: number) => (taskId === 0 ? closed : undefined),
    closedThrough: (taskId: number) => (taskId === 0 ? closedThrough : -1),
  } as unknown as RecoveryQueriesHost;
  return { queries: new RecoveryQueries(host), asked };
}

test('a task that acknowledged the restored checkpoint gets the epochs it reported closed as its history, and no copy is read (I32)', async (t) => {
  // Reported out of order, as a rollback's re-execution may overwrite epochs: the history comes in epoch order.
  const closed = new Map([
    [2, bytes(20, 21)],
    [0, bytes(1)],
    [1, bytes(10)],
    [3, bytes(30)],
  ]);
  const { queries, asked } = queriesWith(closed, 3, [{ epoch: 0, bytes: bytes(9) }]);
  const history = await queries.historyOf(0, 3);
  t.deepEqual(history, [
    { epoch: 0, bytes: bytes(1) },
    { epoch: 1, bytes: bytes(10) },
    { epoch: 2, bytes: bytes(20, 21) },
  ]);
  t.is(asked.replicas, 0, 'no live worker was asked for copies');
});

test('a task that did not acknowledge the restored checkpoint gets its history from the copies, closed epochs winning (I32)', async (t) => {
  // It acknowledged checkpoint 1 only (it finished, say): its epoch 1 was never reported, a copy has it.
  const closed = new Map([[0, bytes(1, 2)]]);
  const copy = [
    { epoch: 0, bytes: bytes(1) },
    { epoch: 1, bytes: bytes(10, 11) },
    { epoch: 2, bytes: bytes(20) },
  ];
  const { queries, asked } = queriesWith(closed, 1, copy);
  const history = await queries.historyOf(0, 2);
  t.deepEqual(history, [
    { epoch: 0, bytes: bytes(1, 2) },
    { epoch: 1, bytes: bytes(10, 11) },
  ]);
  t.is(asked.replicas, 1, 'the live worker was asked for its copy');
});

/** A promise with its resolver, to answer a query when the test chooses. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('every live worker is asked for its copies at once, and the copies come back in worker order whichever answers first (I4)', async (t) => {
  const answers = [deferred<Map<number, EpochSegment[]>>(), deferred<Map<number, EpochSegment[]>>()];
  const asked: number[] = [];
  const worker = (index: number) => ({
    replicas(): Promise<Map<number, EpochSegment[]>> {
      asked.push(index);
      return answers[index]!.promise;
    },
  });
  const host = {
    plan: { tasks: [{ id: 0, name: 'task[0]', inputs: [], outputs: [[]] }], vertices: [], channels: [] },
    // Worker 1 is gone: workers 0 and 2 are asked (answers 0 and 1).
    links: [worker(0), null, worker(1)],
    placement: [1],
    nodes: [],
    incarnations: [],
    isDead: () => true,
  } as unknown as RecoveryQueriesHost;
  const collecting = new RecoveryQueries(host).collectCopies([0], 0);
  await Promise.resolve();
  t.deepEqual(asked, [0, 1], 'both workers were asked before either answered');
  answers[1]!.resolve(new Map([[0, [{ epoch: 0, bytes: bytes(2) }]]]));
  await new Promise((r) => setImmediate(r));
  answers[0]!.resolve(new Map([[0, [{ epoch: 0, bytes: bytes(1) }]]]));
  const copies = await collecting;
  t.deepEqual(copies.get(0), [[{ epoch: 0, bytes: bytes(1) }], [{ epoch: 0, bytes: bytes(2) }]], 'worker 0 first, though worker 1 answered first');
});

test('the sink partitions of live sink tasks are asked at once, and their envelopes come back in sink order (I20)', async (t) => {
  type SinkAnswer = Map<number, { progress: never[]; determinants: Uint8Array[] }>;
  const answers = [deferred<SinkAnswer>(), deferred<SinkAnswer>()];
  const asked: number[][] = [];
  const worker = (index: number) => ({
    sinkStates(taskIds: readonly number[]): Promise<SinkAnswer> {
      asked.push([...taskIds]);
      return answers[index]!.promise;
    },
  });
  // One vertex: a sink of parallelism 2, subtask 0 (task 0) on worker 0 and subtask 1 (task 1) on worker 1.
  const host = {
    plan: { tasks: [], vertices: [{ nodes: [0], firstTask: 0, parallelism: 2 }], channels: [] },
    nodes: [{ name: 'out', sink: true }],
    links: [worker(0), worker(1)],
    placement: [0, 1],
    incarnations: [],
    isDead: () => false,
  } as unknown as RecoveryQueriesHost;
  const reading = new RecoveryQueries(host).sinkDeterminants(0);
  await Promise.resolve();
  t.deepEqual(asked, [[0], [1]], 'both sink tasks were asked before either answered');
  answers[1]!.resolve(new Map([[1, { progress: [], determinants: [bytes(21), bytes(22)] }]]));
  await new Promise((r) => setImmediate(r));
  answers[0]!.resolve(new Map([[0, { progress: [], determinants: [bytes(11)] }]]));
  t.deepEqual(await reading, [bytes(11), bytes(21), bytes(22)], "sink 0's envelopes first, though sink 1 answered first");
});
