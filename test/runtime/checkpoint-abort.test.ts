/**
 * An abandoned checkpoint's snapshots are deleted from the store after their writes settle. A job that ends
 * right after the abort closes the store: the deletion must be waited for first (`discarded`), not run on a
 * closed database (CI on 2026-12-04: "Database is closed", an unhandled rejection from `CheckpointStore.abort`).
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointCoordinator, type CheckpointParticipants } from '../../lib/runtime/coordinator.js';
import { CheckpointStore } from '../../lib/state/checkpoint-store.js';
import { encodeSnapshot, type TaskSnapshot } from '../../lib/state/snapshot.js';

/** Participants of a job of two tasks that record what the coordinator told them. */
function participants(): CheckpointParticipants & { told: string[] } {
  const told: string[] = [];
  return {
    told,
    taskIds: () => [0, 1],
    triggerSources: () => {},
    triggered: (id) => told.push(`triggered ${id}`),
    acknowledged: (id) => told.push(`acknowledged ${id}`),
    completed: (id) => told.push(`completed ${id}`),
    aborted: (id) => told.push(`aborted ${id}`),
  };
}

const snapshot = (taskId: number, checkpointId: number): Uint8Array =>
  encodeSnapshot({ taskId, checkpointId, inputSeqs: [], operators: [] } as unknown as TaskSnapshot);

test('a checkpoint abandoned just before the job ends is deleted before the store closes, and a completed one stays readable', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-checkpoint-abort-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const path = join(directory, 'checkpoints');
  const real = CheckpointStore.open({ path });
  // The store as the coordinator sees it, with one write held back until the test lets it finish: the window
  // in which the job ended in CI.
  let releaseWrite: (() => void) | null = null;
  const store: CheckpointStore = Object.create(real);
  const holdNextWrite = (): void => {
    store.put = (checkpointId, frame, taskId) =>
      new Promise<void>((resolve, reject) => {
        releaseWrite = () => void real.put(checkpointId, frame, taskId).then(resolve, reject);
      });
  };
  const told = participants();
  const coordinator = new CheckpointCoordinator(store, told, 1000, () => 0);
  const failures: unknown[] = [];
  coordinator.onError = (error) => failures.push(error);

  const first = coordinator.trigger();
  coordinator.acknowledge(0, first, snapshot(0, first));
  coordinator.acknowledge(1, first, snapshot(1, first));
  await coordinator.settle();
  // The second has one snapshot on its way to the store when a task fails and the job ends at once.
  holdNextWrite();
  const second = coordinator.trigger();
  coordinator.acknowledge(0, second, snapshot(0, second));
  t.is(coordinator.abortPending(), second);
  // What `CheckpointController.close` does.
  let closed = false;
  const closing = (async () => {
    await coordinator.settle();
    await coordinator.discarded();
    await real.close();
    closed = true;
  })();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.false(closed, 'the store stays open while the abandoned checkpoint is being deleted');
  releaseWrite!();
  await closing;
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.deepEqual(failures, [], 'the deletion ran on an open store');
  t.deepEqual(told.told, [`triggered ${first}`, `acknowledged ${first}`, `completed ${first}`, `triggered ${second}`, `aborted ${second}`]);

  const reopened = CheckpointStore.open({ path });
  t.teardown(() => reopened.close());
  t.is(reopened.latest, first, 'the completed checkpoint is the latest');
  t.like(reopened.restore(1), { taskId: 1, checkpointId: first });
});
