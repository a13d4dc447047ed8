/**
 * How a worker's standbys catch up: a completion queues the frame, later turns of the loop apply it in slices,
 * and a read applies what is still queued first (I9: the standby ends up with exactly the checkpoint's state).
 */
import test from 'ava';
import { WorkerStandbys } from '../../lib/runtime/worker-standbys.js';
import { HeapStateBackend } from '../../lib/state/heap-backend.js';
import { encodeSnapshot, type TaskSnapshot } from '../../lib/state/snapshot.js';

const ENTRIES = 60_000;

/** Checkpoint `id`'s frame of task 7: keys 0 to `count` - 1 of state 'seller', each k → [`seller-k`, id], and `removed`. */
function frame(id: number, count = ENTRIES, removed: number[] = []): Uint8Array {
  const keys: number[] = [];
  const values: unknown[] = [];
  for (let k = 0; k < count; k++) {
    keys.push(k);
    values.push([`seller-${k}`, id]);
  }
  const snapshot: TaskSnapshot = {
    checkpointId: id,
    taskId: 7,
    inputSeqs: [id * 10],
    outputSeqs: [id * 20],
    inputWatermarks: [0],
    inputEnded: [false],
    operators: [{ keyed: [{ name: 'seller', kind: 'value', keys, values, removed }] }],
  };
  return encodeSnapshot(snapshot);
}

function standbysOf(): WorkerStandbys {
  return new WorkerStandbys({ perTask: 1, operatorNames: () => ['join'], newBackend: () => new HeapStateBackend() });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const giveUp = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('I9: a completion queues its frame and the standby applies it in later slices of the loop, to the whole state of the checkpoint', async (t) => {
  const standbys = standbysOf();
  standbys.add(7, null);
  standbys.apply(7, frame(1));
  const standby = standbys.of(7)[0]!;
  t.true(standby.behind, 'nothing is applied on the completion itself');
  let turnsWhileBehind = 0;
  await until(() => {
    if (standby.behind) turnsWhileBehind++;
    return !standby.behind;
  }, 'the standby to catch up');
  t.true(turnsWhileBehind > 0, `other callbacks ran ${turnsWhileBehind} times while the standby was behind`);
  t.is(standby.heldCheckpoint, 1);
  const backend = standby.backends.get('join')!;
  t.is(backend.sizeOf('seller'), ENTRIES);
  t.deepEqual(backend.entryOf('seller', ENTRIES - 1), [`seller-${ENTRIES - 1}`, 1]);
  t.deepEqual(standby.snapshot!.inputSeqs, [10]);
});

test('I9: a standby read while it is behind applies what is queued first, so an activation never sees half a checkpoint', (t) => {
  const standbys = standbysOf();
  standbys.add(7, null);
  standbys.apply(7, frame(1));
  standbys.apply(7, frame(2));
  t.true(standbys.holds(7, 2));
  const standby = standbys.take(7, 2)!;
  t.false(standby.behind);
  t.deepEqual(standby.backends.get('join')!.entryOf('seller', 0), ['seller-0', 2]);
});


test("I9: the keys a later frame removed leave the standby after that frame's last chunk, and the other entries take its values", async (t) => {
  const standbys = standbysOf();
  standbys.add(7, null);
  standbys.apply(7, frame(1));
  const dropped = Array.from({ length: 100 }, (_, i) => ENTRIES - 100 + i);
  standbys.apply(7, frame(2, ENTRIES - 100, dropped));
  const standby = standbys.of(7)[0]!;
  await until(() => !standby.behind, 'the standby to catch up');
  t.is(standby.heldCheckpoint, 2);
  const backend = standby.backends.get('join')!;
  t.is(backend.sizeOf('seller'), ENTRIES - 100);
  t.is(backend.entryOf('seller', ENTRIES - 1), undefined);
  t.deepEqual(backend.entryOf('seller', ENTRIES - 101), [`seller-${ENTRIES - 101}`, 2]);
});
