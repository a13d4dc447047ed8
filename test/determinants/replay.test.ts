import test from 'ava';
import fc from 'fast-check';
import {
  DeltaShipper,
  DeterminantMismatchError,
  Kind,
  ReplayReader,
  ReplicaStore,
  isDriverKind,
  type Determinant,
} from '../../determinants/index.js';
import { buildLog, coalesced, epochsArb } from '../helpers/determinants.js';
import { checkProperty } from '../helpers/property.js';

/** Reads the next entry with the typed method its kind calls for, returning it as a Determinant. */
function readNext(reader: ReplayReader): Determinant {
  const kind = reader.peek();
  switch (kind) {
    case Kind.Order: {
      const channel = reader.nextOrder();
      return { kind: 'ORDER', channel, count: reader.count };
    }
    case Kind.Clock:
      return { kind: 'CLOCK', millis: reader.nextClock() };
    case Kind.MonotonicClock:
      return { kind: 'MONOTONIC_CLOCK', micros: reader.nextMonotonicClock() };
    case Kind.Timer: {
      const timerId = reader.nextTimer();
      return { kind: 'TIMER', timerId, timestamp: reader.timestamp, position: reader.position };
    }
    case Kind.RandomSeed:
      return { kind: 'RANDOM_SEED', seed: reader.nextRandomSeed() };
    case Kind.SourceBarrier: {
      const checkpointId = reader.nextSourceBarrier();
      return { kind: 'SOURCE_BARRIER', checkpointId, position: reader.position };
    }
    case Kind.SourcePoll: {
      const partition = reader.nextSourcePoll();
      return { kind: 'SOURCE_POLL', partition, count: reader.count };
    }
    case Kind.AbortCheckpoint: {
      const checkpointId = reader.nextAbortCheckpoint();
      return { kind: 'ABORT_CHECKPOINT', checkpointId, position: reader.position };
    }
    default:
      throw new Error(`unexpected kind ${kind}`);
  }
}

test('replay returns exactly what was appended, in order, across epochs, after shipping to a replica', (t) => {
  checkProperty(
    t,
    fc.property(epochsArb, (epochs) => {
      // User kinds and external calls are checked in their own scenarios; they need ids to ask for.
      const plain = epochs.map((list) => list.filter((d) => d.kind !== 'USER' && d.kind !== 'EXTERNAL'));
      const log = buildLog(5, plain, 7);
      const shipper = new DeltaShipper({ log, dsd: 1 });
      const replicas = new ReplicaStore({ dsd: 1 });
      const envelope = shipper.delta(shipper.addConsumer());
      if (envelope) replicas.ingest(envelope);
      const reader = new ReplayReader(replicas.logOf(5, 7));
      const expected = plain.flatMap((list) => coalesced(list));
      const got: Determinant[] = [];
      while (!reader.exhausted) got.push(readNext(reader));
      return JSON.stringify(got) === JSON.stringify(expected) && reader.entriesRead === expected.length;
    }),
    300,
  );
});

test('asynchronous events are due exactly at their recorded positions', (t) => {
  checkProperty(
    t,
    fc.property(epochsArb, (epochs) => {
      const log = buildLog(1, epochs.slice(0, 1));
      const reader = new ReplayReader([{ epoch: 0, bytes: log.bytesOf(log.epochs[0]!) }]);
      for (const d of coalesced(epochs[0]!)) {
        if (d.kind === 'TIMER' || d.kind === 'SOURCE_BARRIER' || d.kind === 'ABORT_CHECKPOINT') {
          if (d.position > 0 && reader.dueAt(d.position - 1) !== -1) return false;
          if (reader.dueAt(d.position) === -1) return false;
        } else if (reader.dueAt(Number.MAX_SAFE_INTEGER) !== -1) {
          return false;
        }
        if (isDriverKind(reader.peek()) !== ['ORDER', 'TIMER', 'SOURCE_BARRIER', 'SOURCE_POLL', 'ABORT_CHECKPOINT'].includes(d.kind)) return false;
        // Consume the entry whatever it is.
        if (d.kind === 'EXTERNAL') reader.nextExternal(d.callId);
        else if (d.kind === 'USER') reader.nextUser(d.id);
        else readNext(reader);
      }
      return reader.exhausted;
    }),
    300,
  );
});

test('asking for a clock where a random seed was recorded names both, and the index', (t) => {
  const log = buildLog(1, [[{ kind: 'CLOCK', millis: 10 }, { kind: 'RANDOM_SEED', seed: 4 }]], 3);
  const reader = new ReplayReader([{ epoch: 3, bytes: log.bytesOf(log.epochs[0]!) }]);
  t.is(reader.nextClock(), 10);
  const error = t.throws(() => reader.nextClock(), { instanceOf: DeterminantMismatchError });
  t.is(error?.message, 'recorded RANDOM_SEED at #1 of epoch 3, operator asked CLOCK');
  t.is(reader.nextRandomSeed(), 4, 'a mismatch consumes nothing');
});

test('an external call replays only for the call id it was recorded for', (t) => {
  const log = buildLog(1, [[{ kind: 'EXTERNAL', callId: 77, payload: new Uint8Array([1, 2, 3]) }]]);
  const reader = new ReplayReader([{ epoch: 0, bytes: log.bytesOf(log.epochs[0]!) }]);
  t.throws(() => reader.nextExternal(78), { instanceOf: DeterminantMismatchError, message: /EXTERNAL call 77.*EXTERNAL call 78/ });
});

test('when the log runs out the reader says so, and asking further reports END OF LOG', (t) => {
  const log = buildLog(1, [[{ kind: 'ORDER', channel: 0, count: 3 }]]);
  const reader = new ReplayReader([{ epoch: 0, bytes: log.bytesOf(log.epochs[0]!) }]);
  t.false(reader.exhausted);
  t.is(reader.nextOrder(), 0);
  t.is(reader.count, 3);
  t.true(reader.exhausted);
  t.throws(() => reader.nextClock(), { instanceOf: DeterminantMismatchError, message: /recorded END OF LOG/ });
});

test('an empty log is exhausted from the start', (t) => {
  const reader = new ReplayReader([]);
  t.true(reader.exhausted);
  t.is(reader.epoch, -1);
});
