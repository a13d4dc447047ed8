/** Test helpers for the determinant library: arbitraries, and appending decoded determinants. */
import fc from 'fast-check';
import { DeterminantLog, type Determinant } from '../../determinants/index.js';

/** Appends a decoded determinant with the matching log method. */
export function appendDeterminant(log: DeterminantLog, d: Determinant): void {
  switch (d.kind) {
    case 'ORDER':
      return log.order(d.channel, d.count);
    case 'CLOCK':
      return log.clock(d.millis);
    case 'MONOTONIC_CLOCK':
      return log.monotonicClock(d.micros);
    case 'TIMER':
      return log.timer(d.timerId, d.timestamp, d.position);
    case 'RANDOM_SEED':
      return log.randomSeed(d.seed);
    case 'EXTERNAL':
      return log.external(d.callId, d.payload);
    case 'SOURCE_BARRIER':
      return log.sourceBarrier(d.checkpointId, d.position);
    case 'SOURCE_POLL':
      return log.sourcePoll(d.partition, d.count);
    case 'ABORT_CHECKPOINT':
      return log.abortCheckpoint(d.checkpointId, d.position);
    case 'USER':
      return log.userBytes(d.id, d.payload);
  }
}

/**
 * What the log holds after appending `list` when nothing was sealed in between: consecutive ORDER
 * entries of one channel merge into one.
 */
export function coalesced(list: readonly Determinant[]): Determinant[] {
  const out: Determinant[] = [];
  for (const d of list) {
    const last = out[out.length - 1];
    if (d.kind === 'ORDER' && last?.kind === 'ORDER' && last.channel === d.channel) {
      out[out.length - 1] = { kind: 'ORDER', channel: d.channel, count: last.count + d.count };
    } else {
      out.push(d);
    }
  }
  return out;
}

const time = fc.integer({ min: 0, max: 2 ** 45 });
const small = fc.nat({ max: 1000 });
const wide = fc.oneof(small, fc.nat({ max: 2 ** 31 }), fc.maxSafeNat());

/**
 * Arbitrary epochs of determinants. Positions are generated as non-decreasing sequences per epoch,
 * as a runtime produces them.
 */
export const epochsArb: fc.Arbitrary<Determinant[][]> = fc.array(
  fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('ORDER' as const), channel: fc.oneof(fc.nat({ max: 9 }), fc.nat({ max: 100_000 })), count: fc.integer({ min: 1, max: 5000 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('CLOCK' as const), millis: time }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('MONOTONIC_CLOCK' as const), micros: time }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('TIMER' as const), timerId: wide, timestamp: time, position: small }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('RANDOM_SEED' as const), seed: fc.nat({ max: 0xffffffff }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('EXTERNAL' as const), callId: wide, payload: fc.uint8Array({ maxLength: 100 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('SOURCE_BARRIER' as const), checkpointId: wide, position: small }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('SOURCE_POLL' as const), partition: wide, count: wide }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('ABORT_CHECKPOINT' as const), checkpointId: wide, position: small }) },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant('USER' as const), id: fc.integer({ min: 0x40, max: 0x7f }), payload: fc.uint8Array({ maxLength: 40 }) }),
        },
      ),
      { maxLength: 60 },
    )
    .map(withMonotonicPositions),
  { minLength: 1, maxLength: 5 },
);

/** Turns generated positions into deltas accumulated in order, so they never decrease. */
function withMonotonicPositions(list: readonly (Determinant | Omit<Extract<Determinant, { kind: 'USER' }>, 'name'>)[]): Determinant[] {
  let position = 0;
  return list.map((d): Determinant => {
    if (d.kind === 'TIMER' || d.kind === 'SOURCE_BARRIER' || d.kind === 'ABORT_CHECKPOINT') {
      position += d.position;
      return { ...d, position };
    }
    if (d.kind === 'USER') return { kind: 'USER', id: d.id, name: `USER_${d.id}`, payload: d.payload };
    return d as Determinant;
  });
}

/** Writes epochs (numbered from `firstEpoch`, one apart) into a new log of `taskId`. */
export function buildLog(taskId: number, epochs: readonly Determinant[][], firstEpoch = 0): DeterminantLog {
  const log = new DeterminantLog({ taskId, epoch: firstEpoch, initialCapacity: 16 });
  epochs.forEach((list, i) => {
    if (i > 0) log.startEpoch(firstEpoch + i);
    for (const d of list) appendDeterminant(log, d);
  });
  return log;
}
