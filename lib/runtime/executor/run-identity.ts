/**
 * The identity of a run of a job (`SinkContext.runId`): sink partitions tell their own run's records from
 * an earlier run's by it, so a replacement in another process reads the tail of its own run. A resumed
 * run is the same run (its sinks' records are its own), so the identity is kept in the job directory.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The identity of this run of the job in `directory`: a new one for a new run, the previous run's for a
 * resumed one (its sinks' records are this run's too), kept in `<directory>/run-id`.
 */
export function runIdentity(directory: string, resume: boolean): string {
  const file = join(directory, 'run-id');
  if (resume && existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (/^[\w-]{1,100}$/.test(kept)) return kept;
  }
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}
