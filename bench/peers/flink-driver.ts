/**
 * Builds and runs the Flink peer, the Maven project in `bench/peers/flink/`: Nexmark Q1, Q3 and Q8 on a
 * local MiniCluster. The build is cached: Maven runs again only when a source file or the pom is newer
 * than the jar, offline (`-o`) when the local repository already holds Flink, online otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TimelineSlot } from '../../lib/runtime/metrics.js';

/** The Flink version the pom asks for (`flink.version`). */
export const FLINK_VERSION = '2.3.0';

/** The Maven project's directory, found by walking up from this module (absent from an installed package), or null. */
export function flinkProjectDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, 'flink'), join(dir, 'bench', 'peers', 'flink')]) {
      if (existsSync(join(candidate, 'pom.xml'))) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Why the Flink peer cannot run here (java or mvn missing, no Maven project), or null when it can. */
export function flinkUnavailable(): string | null {
  for (const tool of ['java', 'mvn']) {
    if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).error) return `${tool} is not on the PATH`;
  }
  if (flinkProjectDir() === null) return 'the Maven project bench/peers/flink is not in this installation';
  return null;
}

/** What {@link buildFlinkPeer} did. */
export interface FlinkBuild {
  /** `java -cp` argument: the project's jar and its dependencies. */
  classpath: string;
  /** Whether Maven ran (false: the cached jar was up to date). */
  built: boolean;
  /** Whether it ran offline. */
  offline: boolean;
  /** How long the build took (ms; 0 when cached). */
  buildMs: number;
}

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'target') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether the local Maven repository holds the Flink the pom needs, so that an offline build can work. */
function mavenRepositoryWarm(): boolean {
  return existsSync(join(homedir(), '.m2', 'repository', 'org', 'apache', 'flink', 'flink-clients', FLINK_VERSION));
}

function runMaven(dir: string, offline: boolean): { ok: boolean; output: string } {
  const result = spawnSync('mvn', ['-q', '-B', ...(offline ? ['-o'] : []), 'package'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** A lock older than this was left by a build that died: it is taken over. */
const STALE_LOCK_MS = 10 * 60_000;

/** Blocks this thread for `ms` (the build is synchronous, and so is waiting for another one). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds the Maven project unless its jar is up to date; throws with Maven's output when the build fails.
 * One build at a time per checkout (a lock directory in `target/`): test files run concurrently, and two
 * Maven builds writing one `target/` would corrupt it.
 */
export function buildFlinkPeer(onProgress: (message: string) => void = () => {}): FlinkBuild {
  const dir = flinkProjectDir();
  if (dir === null) throw new Error('bench peers: the Maven project bench/peers/flink is not in this installation');
  const lock = join(dir, 'target', '.build-lock');
  mkdirSync(join(dir, 'target'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      sleepSync(200);
    }
  }
  try {
    return buildUnlocked(dir, onProgress);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function buildUnlocked(dir: string, onProgress: (message: string) => void): FlinkBuild {
  const jar = join(dir, 'target', 'peers-flink.jar');
  const classpathFile = join(dir, 'target', 'classpath.txt');
  const classpath = (): string => `${jar}:${readFileSync(classpathFile, 'utf8').trim()}`;
  if (existsSync(jar) && existsSync(classpathFile) && statSync(jar).mtimeMs >= newestSourceMs(dir)) {
    return { classpath: classpath(), built: false, offline: true, buildMs: 0 };
  }
  const started = Date.now();
  let offline = mavenRepositoryWarm();
  onProgress(`building ${dir} with Maven${offline ? ' (offline)' : ' (online: the local repository lacks Flink)'}`);
  let result = runMaven(dir, offline);
  if (!result.ok && offline) {
    // A warm repository may still miss a plugin: try again online.
    offline = false;
    result = runMaven(dir, false);
  }
  if (!result.ok) throw new Error(`bench peers: the Maven build of ${dir} failed:\n${result.output.trim()}`);
  return { classpath: classpath(), built: true, offline, buildMs: Date.now() - started };
}

/** One run of the Flink peer, as `FlinkNexmark` prints it. */
export interface FlinkRun {
  run: 'max' | 'max-checkpoints' | 'warmup' | 'paced' | 'kill-fastest' | 'kill-default';
  query: string;
  version: string;
  checkpointMs: number;
  /** Max runs: events/s the sources emitted in the measured window. */
  eventsPerSec?: number;
  /** Paced and kill runs: the rate, events, restart strategy, when the failure was thrown (ms since the start). */
  rate?: number;
  events?: number;
  restart?: string;
  killAtMs?: number | null;
  failures?: number;
  /** Kill runs: from submission until the sources started, and from then until the job finished (ms). */
  startupMs?: number;
  durationMs?: number;
  /**
   * Latency of records reaching the sink (ms): over the measured window, or from 1 s on until the kill (`paced`:
   * from `latencyFromMs` until the end).
   */
  p50Ms: number | null;
  p99Ms: number | null;
  /** From the event's arrival until its checkpoint committed (ms), same window. */
  visibleP50Ms: number | null;
  visibleP99Ms: number | null;
  sinkRecords: number;
  committedRecords: number;
  /** `paced` with a later window: latency and visibility from 1 s until the window starts (start-up, JIT included). */
  startup?: { p50Ms: number | null; p99Ms: number | null; visibleP50Ms: number | null; visibleP99Ms: number | null };
  sourced: number;
  /** 100 ms slots of the sink, ms since the sources started. */
  timeline: TimelineSlot[];
  /** Distinct ms at which records reached the sink. */
  outputTimes: number[];
}

/** Options of {@link runFlinkPeer}: `FlinkNexmark`'s arguments (see its class comment). */
export interface FlinkRunOptions {
  classpath: string;
  query: string;
  runs: FlinkRun['run'][];
  warmupMs?: number;
  measureMs?: number;
  /** Rate of the `paced` run, and of the failure runs unless `failureRate` is given. */
  rate?: number;
  /** Length of the `paced` run (ms). */
  pacedMs?: number;
  /** Where the `paced` run's latency window starts (ms; default 1000). */
  latencyFromMs?: number;
  failureRate?: number;
  killAtMs?: number;
  afterMs?: number;
  /** Where kill runs write their committed lines (`<run>.jsonl`). */
  outputDir?: string;
  onProgress?: (message: string) => void;
}

/** Runs `FlinkNexmark` in a JVM of its own and returns its runs; its stderr lines go to `onProgress`. */
export function runFlinkPeer(options: FlinkRunOptions): Promise<FlinkRun[]> {
  const args = ['-cp', options.classpath, 'causalflow.peers.FlinkNexmark', '--query', options.query, '--runs', options.runs.join(',')];
  const add = (name: string, value: number | string | undefined): void => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  add('warmup-ms', options.warmupMs);
  add('measure-ms', options.measureMs);
  add('rate', options.rate);
  add('paced-ms', options.pacedMs);
  add('latency-from-ms', options.latencyFromMs);
  add('failure-rate', options.failureRate);
  add('kill-at-ms', options.killAtMs);
  add('after-ms', options.afterMs);
  add('output-dir', options.outputDir);
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      // Flink's own lines (SLF4J's warning, stack traces) stay out of the progress display.
      for (const line of chunk.split('\n')) if (line.startsWith('flink ')) options.onProgress?.(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`bench peers: the Flink peer exited with ${code}:\n${stderr.trim().split('\n').slice(-20).join('\n')}`));
        return;
      }
      const runs = stdout.split('\n').filter((line) => line.startsWith('{"run":')).map((line) => JSON.parse(line) as FlinkRun);
      resolve(runs.filter((run) => run.run !== 'warmup'));
    });
  });
}
