/**
 * The job of the `--resume` test, as a job file for `causalflow run`: running sums into a file sink,
 * in the directory named by `RESUME_TEST_DIR` (worker processes inherit the coordinator's environment).
 */
import { fileSink, Job, sequence } from '../../lib/index.js';
import { runningSum, type SumRecord } from './jobs.js';

/** Records the source produces. */
export const RESUME_COUNT = 30_000;

/** Builds the job (the default export of a job file may be a function returning the job). */
export default function build(): Job {
  const dir = process.env['RESUME_TEST_DIR'];
  if (!dir) throw new Error('RESUME_TEST_DIR is unset');
  const job = new Job({ name: 'resume', parallelism: 2, directory: `${dir}/job`, recovery: { mode: 'exactly-once', checkpointIntervalMs: 200, dsd: -1 } });
  job
    .source(sequence((n) => n, { count: RESUME_COUNT, rate: 10_000, partitions: 2 }), { name: 'numbers' })
    .keyBy((n: number) => n % 5)
    .process<SumRecord>(runningSum, { name: 'sum' })
    .sink(fileSink(`${dir}/out`), { name: 'out' });
  return job;
}
