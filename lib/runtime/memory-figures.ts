/**
 * What fault tolerance keeps in memory, measured on a running job: the bytes of each task's determinant
 * log and the replicas it holds, and the size of each task's keyed state next to its standby's copy
 * (msgpack-encoded entries, the same measure for both, so the ratio is meaningful).
 */
import { Packr } from 'msgpackr';
import type { StateBackend } from '../state/backend.js';

const packr = new Packr({ useRecords: false, moreTypes: true });

/** Encoded bytes of every entry of every state in `backends`. */
export function encodedStateBytes(backends: Iterable<StateBackend>): number {
  let bytes = 0;
  for (const backend of backends) {
    for (const name of backend.stateNames()) {
      for (const key of backend.keysOf(name)) bytes += packr.pack(key).length + packr.pack(backend.entryOf(name, key)).length;
    }
  }
  return bytes;
}

/** Memory figures of one task. */
export interface TaskMemoryFigures {
  task: string;
  /** Own determinant log plus replicas of upstream logs (bytes held in memory). */
  causalBytes: number;
  /** Keyed state of the running task (encoded bytes). */
  stateBytes: number;
  /** Keyed state held by its standby (encoded bytes), or null without a standby. */
  standbyStateBytes: number | null;
}
