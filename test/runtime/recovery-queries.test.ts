/**
 * `RecoveryQueries.historyOf` (I32): a failed task's trace before the checkpoint it restores, for the
 * verifier's oracle. Where the task acknowledged that checkpoint, the epochs it reported closed are the whole
 * history, and no copy or stored envelope is read; otherwise the copies are read and closed epochs win.
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
