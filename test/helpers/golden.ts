/**
 * The canonical content of the golden determinant fixtures. `golden.test.ts` checks that encoding it
 * gives exactly the committed bytes; `npm run fixtures` rewrites them (only for a deliberate format
 * change, which must also bump the format version).
 */
import { DeltaShipper, DeterminantLog, encodeLogFile, type Determinant, type PersistedSegment } from '../../determinants/index.js';
import { appendDeterminant } from './determinants.js';

/** Two tasks, two epochs each, every built-in kind plus a user kind. */
export const GOLDEN_LOGS: Record<number, Determinant[][]> = {
  3: [
    [
      { kind: 'SOURCE_POLL', partition: 0, count: 500 },
      { kind: 'SOURCE_POLL', partition: 1, count: 12 },
      { kind: 'CLOCK', millis: 1_763_683_200_000 },
      { kind: 'SOURCE_BARRIER', checkpointId: 1, position: 512 },
    ],
    [
      { kind: 'SOURCE_POLL', partition: 0, count: 3 },
      { kind: 'ABORT_CHECKPOINT', checkpointId: 2, position: 3 },
    ],
  ],
  7: [
    [
      { kind: 'ORDER', channel: 0, count: 256 },
      { kind: 'ORDER', channel: 1, count: 3 },
      { kind: 'CLOCK', millis: 1_763_683_200_005 },
      { kind: 'CLOCK', millis: 1_763_683_200_004 },
      { kind: 'MONOTONIC_CLOCK', micros: 123_456_789 },
      { kind: 'RANDOM_SEED', seed: 0xdeadbeef },
      { kind: 'ORDER', channel: 200, count: 1 },
      { kind: 'TIMER', timerId: 2, timestamp: 1_763_683_200_010, position: 260 },
      { kind: 'EXTERNAL', callId: 0x1234abcd, payload: new Uint8Array([0x93, 0x01, 0xa1, 0x78, 0xc3]) },
    ],
    [
      { kind: 'ORDER', channel: 5, count: 16 },
      { kind: 'USER', id: 0x40, name: 'USER_64', payload: new Uint8Array([0xca, 0xfe]) },
      { kind: 'ABORT_CHECKPOINT', checkpointId: 2, position: 16 },
    ],
  ],
};

/** Builds the golden logs. */
export function goldenLogs(): DeterminantLog[] {
  return Object.entries(GOLDEN_LOGS).map(([taskId, epochs]) => {
    const log = new DeterminantLog({ taskId: Number(taskId), epoch: 1 });
    epochs.forEach((list, i) => {
      if (i > 0) log.startEpoch(1 + i);
      for (const d of list) appendDeterminant(log, d);
    });
    return log;
  });
}

/** The golden log file: every epoch of every golden log as one segment. */
export function goldenLogFile(): Uint8Array {
  const segments: PersistedSegment[] = [];
  for (const log of goldenLogs()) for (const e of log.epochs) segments.push({ taskId: log.taskId, epoch: e.epoch, offset: 0, bytes: log.bytesOf(e).slice() });
  return encodeLogFile(segments);
}

/** The golden envelope: what task 7 ships to a fresh consumer. */
export function goldenEnvelope(): Uint8Array {
  const log = goldenLogs().find((l) => l.taskId === 7)!;
  const shipper = new DeltaShipper({ log, dsd: 1 });
  return shipper.delta(shipper.addConsumer())!;
}
