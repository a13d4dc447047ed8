/**
 * `causalflow verify --job <file>`: chaos verification of a user's own job, with the checks that need no
 * knowledge of the job — duplicates by record identity, and comparison with an oracle replay of the
 * run's final determinant trace — and the same judgement of escalations as for the built-in jobs.
 *
 * The job file's default export is a {@link VerifiableJob}, or its `build` function alone:
 *
 * ```ts
 * import { Job, verifiableJob } from 'causalflow';
 *
 * export default verifiableJob({
 *   name: 'priced-orders',
 *   build(options) {
 *     const job = new Job({ ...options, name: 'priced-orders' });   // pass the options on: recovery, directory, …
 *     const sink = job.source(…).keyBy(…).process(…).collect({ name: 'out' });
 *     return { job, sink };
 *   },
 *   identity: (order) => String(order.id),                         // optional: unique per correct output record
 * });
 * ```
 *
 * `build` is called twice for failure-free calibration runs (the faster sets the window of kill moments to
 * the job's length), then twice per run: for the run and for its oracle. It must build a new job each
 * time, with the options it is given, into a `CollectSink`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Job } from '../api/job.js';
import type { JobOptions } from '../config.js';
import type { CollectSink } from '../connectors/collect.js';
import { ConfigError } from '../errors.js';
import { runAll, settingsOf, type VerifyOptions, type VerifyResult } from './chaos.js';
import { verifyOne, type CollectedOutput, type RunTarget } from './run.js';
import { jsonSafe } from './worker-jobs.js';

/** A job built for verification: the job, and the sink whose output is checked. */
export interface BuiltJob<T = unknown> {
  /** A new job, built from the options `build` was given. */
  job: Job;
  /** The sink to check (`.collect()` returns one). */
  sink: CollectSink<T>;
}

/** The default export of a job file for `causalflow verify --job`. */
export interface VerifiableJob<T = unknown> {
  /** Name in reports (default: the file's name). */
  name?: string;
  /**
   * Builds a new job from `options` (recovery mode and sharing depth, checkpoint interval, a directory,
   * `retainDeterminants`, a default parallelism of 2): spread them into `new Job({ ...options, … })`.
   * You may change `name` and `parallelism`; the verifier refuses a job whose recovery settings,
   * directory or determinant retention differ from what it asked for.
   */
  build(options: JobOptions): BuiltJob<T> | Promise<BuiltJob<T>>;
  /**
   * Names an output record; two records with one identity are one record shown twice. Give one that is
   * unique in a correct output (an order id). Default: the record as JSON, and duplicates are then the
   * copies beyond those the oracle shows.
   */
  identity?(record: T): string;
}

/** What a job file may export by default: a {@link VerifiableJob}, or its build function alone. */
export type JobFileExport<T = unknown> = VerifiableJob<T> | VerifiableJob<T>['build'];

/** Types a job file's default export (`export default verifiableJob({ … })`); returns it unchanged. */
export function verifiableJob<T>(spec: VerifiableJob<T>): VerifiableJob<T> {
  return spec;
}

/** Loads `file` and checks its default export has the shape of a {@link JobFileExport}. */
export async function loadJobFile(file: string): Promise<VerifiableJob & { name: string }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError('--job', 'an existing .ts or .js module', file);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new ConfigError('--job', 'a module that loads', `${file} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  const exported = module.default;
  const spec = (typeof exported === 'function' ? { build: exported } : exported) as Partial<VerifiableJob> | null | undefined;
  if (spec === null || typeof spec !== 'object' || typeof spec.build !== 'function') {
    throw new ConfigError(`${file} default export`, '{ build(options), identity?(record) } or a build function', exported);
  }
  if (spec.identity !== undefined && typeof spec.identity !== 'function') throw new ConfigError(`${file} default export .identity`, 'a function of a record', spec.identity);
  return { ...(spec as VerifiableJob), name: typeof spec.name === 'string' ? spec.name : basename(file).replace(/\.[cm]?[jt]s$/, '') };
}

/** Verifies the job of `file` under `options` (`options.jobs` is ignored); `log` hears about calibration. */
export async function verifyJobFile(file: string, options: VerifyOptions, log: (line: string) => void = () => {}): Promise<VerifyResult> {
  const spec = await loadJobFile(file);
  const settings = settingsOf(options);
  const build = async (jobOptions: JobOptions): Promise<{ job: Job; sink: CollectedOutput }> => {
    const built = (await spec.build(jobOptions)) as Partial<BuiltJob> | null | undefined;
    if (built === null || typeof built !== 'object' || !built.job || typeof built.job.start !== 'function') {
      throw new ConfigError(`${file}: build(options)`, 'to return { job, sink }', built);
    }
    const sink = built.sink as Partial<CollectedOutput> | undefined;
    if (!sink || typeof sink.partition !== 'function' || typeof sink.partitionCount !== 'number') {
      throw new ConfigError(`${file}: build(options).sink`, 'a CollectSink (what .collect() returns)', sink);
    }
    checkOptionsPassed(file, built.job, jobOptions);
    return { job: built.job, sink: sink as CollectedOutput };
  };
  const killWindowMs = await calibrate(spec.name, build, settings.checkpointIntervalMs, options.mode, log);
  const identity = spec.identity === undefined ? undefined : (record: unknown): string => String(spec.identity!(record));
  const module = pathToFileURL(resolve(file)).href;
  const target: RunTarget = {
    name: spec.name,
    build,
    identity,
    killWindowMs,
    // A worker process imports the file and calls its default export's build (or the export itself) with the options.
    workerJob: (jobOptions) => ({ module, export: 'default', args: jsonSafe(`${file}: the options of build(options)`, jobOptions) }),
  };
  return runAll(options, file, (run, seed) => verifyOne(target, run, seed, settings));
}

/** The job's recovery settings, directory and retention must be the ones the verifier asked for. */
function checkOptionsPassed(file: string, job: Job, asked: JobOptions): void {
  const got = job.options;
  const want = asked.recovery!;
  const differences: string[] = [];
  if (got.recovery.mode !== want.mode) differences.push(`recovery.mode ${got.recovery.mode}, not ${want.mode}`);
  if (got.recovery.dsd !== want.dsd) differences.push(`recovery.dsd ${got.recovery.dsd}, not ${want.dsd}`);
  if (got.recovery.onEscalation !== want.onEscalation) differences.push(`recovery.onEscalation ${got.recovery.onEscalation}, not ${want.onEscalation}`);
  if (got.recovery.checkpointIntervalMs !== want.checkpointIntervalMs) differences.push(`recovery.checkpointIntervalMs ${got.recovery.checkpointIntervalMs}, not ${want.checkpointIntervalMs}`);
  if (!got.retainDeterminants) differences.push('retainDeterminants false');
  if (got.directory !== asked.directory) differences.push(`directory ${got.directory}, not the one given`);
  if (differences.length > 0) {
    throw new ConfigError(`${file}: build(options)`, 'a Job made from the options it is given (new Job({ ...options, name }))', differences.join(', '));
  }
}

/**
 * Two failure-free runs: the job must finish with output; kills are then drawn over 10–80% of the shorter run.
 * The first run's code is cold (it compiles as it goes), so a window taken from it alone reaches past the end
 * of the warm runs that follow, and kills late in it find the tasks finished (CI saw 0 recoveries from 2 kills).
 */
async function calibrate(
  name: string,
  build: (options: JobOptions) => Promise<{ job: Job; sink: CollectedOutput }>,
  checkpointIntervalMs: number,
  mode: VerifyOptions['mode'],
  log: (line: string) => void,
): Promise<[number, number]> {
  const lengths: number[] = [];
  let records = 0;
  for (let run = 0; run < 2; run++) {
    const directory = mkdtempSync(join(tmpdir(), 'causalflow-verify-calibrate-'));
    try {
      const { job, sink } = await build({ parallelism: 2, recovery: { mode, checkpointIntervalMs, dsd: -1, onEscalation: 'fail' }, retainDeterminants: true, directory });
      const started = performance.now();
      await job.start().then((handle) => handle.done);
      lengths.push(performance.now() - started);
      records = 0;
      for (let p = 0; p < sink.partitionCount; p++) records += sink.partition(p).length;
      if (records === 0) throw new ConfigError(`${name}: a failure-free run`, 'some output in its sink', 'no output');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }
  const length = Math.min(...lengths);
  const window: [number, number] = [Math.max(5, Math.round(length * 0.1)), Math.max(10, Math.round(length * 0.8))];
  log(
    `${name}: a failure-free run took ${Math.round(length)} ms and showed ${records} records (the faster of two; the first, on cold code, took ` +
      `${Math.round(lengths[0]!)} ms); kills fall between ${window[0]} and ${window[1]} ms`,
  );
  return window;
}
