/**
 * Causal services under exactly-once recovery. Live, every answer is recorded as a determinant before
 * it is returned; replaying, answers come from the recorded log, in order (I6). When the log runs out
 * mid-epoch the services carry on live, from the same state.
 *
 * - `now()`: one CLOCK determinant per call.
 * - `cachedNow()`: nothing per call; the task ticks the cached value between deliveries, recording each
 *   tick as a TIMER determinant, so a hot loop of reads costs no determinant.
 * - `monotonicNow()`: one MONOTONIC_CLOCK determinant per call (microsecond resolution).
 * - `random()`, `randomUUID()`: a seeded generator; one RANDOM_SEED determinant per epoch.
 * - `call(name, fn)`: the result, encoded with msgpackr, as an EXTERNAL determinant keyed by the name's
 *   hash; replaying returns the recorded result without calling. Only async operators may call it: the
 *   task waits for the result, so nothing else is recorded meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { hash32 } from '../../determinants/checksum.js';
import { ConfigError } from '../errors.js';
import { runUncaptured } from './capture.js';
import { SeededRandom } from '../util/random.js';
import { monotonicClock, wallClock } from '../util/clock.js';
import { uuidFrom, type CausalServices } from './services.js';
import type { CausalTaskLog } from './task-log.js';

const packr = new Packr({ moreTypes: true });

/** What the services need of their task. */
export interface ServiceHost {
  /** Whether an external call may be made (the head operator is async). */
  readonly allowsCalls: boolean;
  /** Display name, for errors. */
  readonly taskName: string;
}

/** Recording and replaying causal services of one task. */
export class RecordingServices implements CausalServices {
  private generator: SeededRandom | null = null;
  private readonly callIds = new Map<string, number>();

  /** `taskLog` is the task's causal log (and holds its cached clock, which the task ticks through it). */
  constructor(
    private readonly taskLog: CausalTaskLog,
    private readonly host: ServiceHost,
  ) {
    // A new epoch: the next random number draws (and records) a new seed.
    taskLog.onEpochStart = () => this.onEpochStart();
  }

  now(): number {
    const causal = this.taskLog;
    const reader = causal.reader;
    if (reader !== null && !reader.exhausted) return reader.nextClock();
    const value = wallClock();
    causal.log.clock(value);
    return value;
  }

  cachedNow(): number {
    this.taskLog.cachedClockRead = true;
    return this.taskLog.cachedClock;
  }

  monotonicNow(): number {
    const causal = this.taskLog;
    const reader = causal.reader;
    if (reader !== null && !reader.exhausted) return reader.nextMonotonicClock() / 1000;
    const micros = Math.round(monotonicClock() * 1000);
    causal.log.monotonicClock(micros);
    return micros / 1000;
  }

  random(): number {
    return this.seeded().next();
  }

  randomUUID(): string {
    const generator = this.seeded();
    return uuidFrom(() => generator.nextUint32());
  }

  async call<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    if (!this.host.allowsCalls) {
      throw new ConfigError(
        `${this.host.taskName}: ctx.call("${name}")`,
        'an async operator (process(fn, { async: true })), so that the task waits for the result',
        'a call from a synchronous operator',
      );
    }
    const id = this.callId(name);
    const causal = this.taskLog;
    const reader = causal.reader;
    if (reader !== null && !reader.exhausted) return packr.unpack(reader.nextExternal(id)) as T;
    const encoded = packr.pack(await runUncaptured(fn));
    // The task is suspended on this call: nothing was recorded between the call and now.
    causal.log.external(id, encoded);
    // Live and replay hand back the same thing: the decoded copy of what was recorded.
    return packr.unpack(encoded) as T;
  }

  /** A new epoch: the next random number draws (and records) a new seed. */
  onEpochStart(): void {
    this.generator = null;
  }

  private seeded(): SeededRandom {
    if (this.generator !== null) return this.generator;
    const causal = this.taskLog;
    const reader = causal.reader;
    let seed: number;
    if (reader !== null && !reader.exhausted) {
      seed = reader.nextRandomSeed();
    } else {
      seed = randomBytes(4).readUInt32LE(0);
      causal.log.randomSeed(seed);
    }
    this.generator = new SeededRandom(seed);
    return this.generator;
  }

  private callId(name: string): number {
    let id = this.callIds.get(name);
    if (id === undefined) {
      id = hash32(name);
      this.callIds.set(name, id);
    }
    return id;
  }
}
