import test from 'ava';
import fc from 'fast-check';
import { DeterminantLog, ReplicaStore, encodeEnvelope } from '../../determinants/index.js';
import { checkProperty } from '../helpers/property.js';

type Step = { kind: 'record' } | { kind: 'take' } | { kind: 'complete'; which: number } | { kind: 'abort' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Step>({ kind: 'record' }) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'take' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), which: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'abort' }) },
);

test('I2: truncation never drops an epoch that a completed checkpoint does not cover', (t) => {
  checkProperty(
    t,
    fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
      // The model: checkpoints are taken in order; each taken one may complete or be aborted later.
      const log = new DeterminantLog({ taskId: 1, initialCapacity: 16 });
      const replicas = new ReplicaStore({ dsd: 1 });
      let nextCheckpoint = 1;
      const pending: number[] = [];
      let lastCompleted = 0;
      for (const step of steps) {
        if (step.kind === 'record') {
          log.order(0, 1);
          replicas.ingest(encodeEnvelope([{ taskId: 2, epoch: log.epoch, offset: replicas.replicaOf(2)?.epochs.find((e) => e.epoch === log.epoch)?.length ?? 0, hops: 1, bytes: new Uint8Array([0x80]) }]));
        } else if (step.kind === 'take') {
          log.startEpoch(nextCheckpoint);
          pending.push(nextCheckpoint++);
        } else if (step.kind === 'abort') {
          pending.shift();
        } else if (pending.length > 0) {
          const index = Math.min(step.which, pending.length - 1);
          const completed = pending[index]!;
          pending.splice(0, index + 1);
          lastCompleted = completed;
          log.truncateBefore(completed);
          replicas.truncateBefore(completed);
        }
        // Every epoch from the last completed checkpoint on must still be held, and nothing older.
        const held = log.epochs.map((e) => e.epoch);
        if (held[held.length - 1] !== log.epoch) return false;
        if (held.some((e) => e < lastCompleted && e !== log.epoch)) return false;
        for (let e = lastCompleted; e <= log.epoch; e++) if (e < nextCheckpoint && !held.includes(e) && e !== 0) return false;
        const replicaEpochs = replicas.replicaOf(2)?.epochs.map((e) => e.epoch) ?? [];
        if (replicaEpochs.some((e) => e < lastCompleted)) return false;
      }
      return true;
    }),
    300,
  );
});

test('truncating past the current epoch keeps the current epoch', (t) => {
  const log = new DeterminantLog({ taskId: 1, epoch: 4 });
  log.order(0, 1);
  log.truncateBefore(10);
  t.deepEqual(log.epochs.map((e) => e.epoch), [4]);
  t.is(log.currentLength, 1);
});
