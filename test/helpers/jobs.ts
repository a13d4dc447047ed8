/** Helpers for runtime tests: a fresh job directory per test, and small record streams. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { Job, type JobOptions } from '../../lib/index.js';

/** A temporary job directory, removed when the test ends. */
export function jobDirectory(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'causalflow-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A job with a temporary directory. */
export function testJob(t: ExecutionContext, options: JobOptions = {}): Job {
  return new Job({ directory: jobDirectory(t), ...options });
}

/** Sorts JSON renderings, to compare outputs whose order across partitions is not defined. */
export function sortedJson(records: readonly unknown[]): string[] {
  return records.map((r) => JSON.stringify(r)).sort();
}
