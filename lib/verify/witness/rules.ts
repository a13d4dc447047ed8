/**
 * What each built-in verify job's records carry, and how the witness recomputes them. The jobs
 * (`../jobs.ts`) import the sizes and the record shapes from here; nothing here knows how they run.
 *
 * Every record has a `uid`, unique in a correct output. Keyed running values carry `before` and `after`:
 * the keyed state before and after the record, so that the chain of a key, in output order, shows
 * whether the state the job kept and the output it showed agree.
 */
import type { CarriedAnswer, Rec, WitnessEnv, WitnessRule } from './check.js';

/** Source records of the larger jobs. */
export const COUNT = 9_000;
/** Their rate (records/s, over all partitions). */
export const RATE = 12_000;
/** Records of the jobs that call the witness server (one call each). */
export const CALL_COUNT = 2_400;
/** Their rate. */
export const CALL_RATE = 4_000;
/** Window size of `processing-time-windows` (ms). */
export const WINDOW_MS = 15;
/** Keys of `processing-time-windows`. */
export const WINDOW_KEYS = 40;
/** Share of records `random-sampling` keeps. */
export const SAMPLE_SHARE = 0.3;
/** Keys of `timers`; a key's last record (n ≥ COUNT − TIMER_KEYS) flushes its pending members. */
export const TIMER_KEYS = 20;
/** Delay of the timers `timers` arms (ms). */
export const TIMER_DELAY_MS = 3;
/** Keys the answer decides in `call-keyed-totals`. */
export const ANSWER_KEYS = 4;

/** `processing-time-windows`: one processing-time window of one key. */
export interface WindowRecord {
  uid: string;
  key: number;
  start: number;
  end: number;
  count: number;
  sum: number;
  /** Input numbers in the window, in arrival order. */
  members: number[];
}

/** `random-sampling`: every input, with the draw that decided whether it is kept. */
export interface SampleRecord {
  uid: string;
  n: number;
  draw: number;
  kept: boolean;
  /** A random UUID when kept, else null. */
  id: string | null;
  /** The clock read when sampled. */
  at: number;
  key: number;
  /** Kept records of the key before and after this one. */
  before: number;
  after: number;
}

/** A keyed running total of server answers (`external-calls`, `call-keyed-totals-*`). */
export interface AnswerRecord {
  uid: string;
  n: number;
  key: number;
  answer: number;
  before: number;
  after: number;
}

/** `racing-inputs`: the next number of a key, taken by whichever input arrived first. */
export interface RaceRecord {
  uid: string;
  from: 'fast' | 'slow';
  n: number;
  key: number;
  before: number;
  after: number;
  /** The uid of the key's previous record ('' for the first). */
  prev: string;
}

/** `timers`: the members a key collected until its timer fired (or its last record flushed them). */
export interface TimerRecord {
  uid: string;
  key: number;
  /** Firings of the key so far, this one included. */
  index: number;
  /** Members of the key before and after this record. */
  before: number;
  after: number;
  members: number[];
  /** `timer`, or `end` for the flush by the key's last record. */
  cause: 'timer' | 'end';
  /** Clock read when the timer was armed; it was due TIMER_DELAY_MS later (null for `end`). */
  armedAt: number | null;
  due: number | null;
  /** Clock and monotonic clock read when it fired (null for `end`). */
  firedAt: number | null;
  mono: number | null;
}

/** `captured-globals`: the values of the globals inside `causal()`, then a server answer, totalled per key. */
export interface GlobalsRecord extends AnswerRecord {
  draw: number;
  pick: number;
  id: string;
  wall: number;
  date: number;
  mono: number;
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A finite number field, or an error naming it. */
function num(r: Rec, field: string): number {
  const v = r[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${field} is ${JSON.stringify(v)}, not a number`);
  return v;
}

function numbers(r: Rec, field: string): number[] {
  const v = r[field];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new Error(`${field} is not a list of numbers`);
  return v as number[];
}

function str(r: Rec, field: string): string {
  const v = r[field];
  if (typeof v !== 'string') throw new Error(`${field} is ${JSON.stringify(v)}, not a string`);
  return v;
}

function range(): { out: { check: 'recompute' | 'range'; message: string }[]; expect(ok: boolean, message: string): void; within(what: string, v: number, span: readonly [number, number]): void } {
  const out: { check: 'recompute' | 'range'; message: string }[] = [];
  return {
    out,
    expect(ok, message) {
      if (!ok) out.push({ check: 'recompute', message });
    },
    within(what, v, [from, to]) {
      if (!(v >= from && v <= to)) out.push({ check: 'range', message: `${what} ${v} lies outside [${from}, ${to}]` });
    },
  };
}

function inputsUpTo(count: number, prefix = ''): string[] {
  return Array.from({ length: count }, (_, n) => `${prefix}${n}`);
}

/** A chain whose `before` is the previous record's `after` (0 for the first record of a key). */
function sumLink(previous: Rec | undefined, record: Rec): string | null {
  const expected = previous === undefined ? 0 : num(previous, 'after');
  const before = num(record, 'before');
  return before === expected ? null : `state before is ${before}, but the key's previous record left ${expected}${previous ? ` (${String(previous.uid)})` : ''}`;
}

/** A keyed running total of answers (`external-calls`, `call-keyed-totals-*`): `keyOf(n, answer)` is its key. */
function answerTotals(name: string, count: number, keyOf: (n: number, answer: number) => number): WitnessRule {
  return {
    name,
    inputs: () => inputsUpTo(count),
    uid: (r) => str(r, 'uid'),
    covers: (r) => [str(r, 'uid')],
    chainKey: (r) => String(num(r, 'key')),
    link: sumLink,
    judge(r) {
      const c = range();
      const n = num(r, 'n');
      const answer = num(r, 'answer');
      c.expect(str(r, 'uid') === String(n), `uid ${String(r.uid)} is not record ${n}`);
      c.expect(num(r, 'key') === keyOf(n, answer), `key ${String(r.key)} is not the key ${keyOf(n, answer)} of record ${n} with answer ${answer}`);
      c.expect(num(r, 'after') === num(r, 'before') + answer, `after ${String(r.after)} is not before ${String(r.before)} + answer ${answer}`);
      return c.out;
    },
    answers: (r): CarriedAnswer[] => [{ id: str(r, 'uid'), answer: r.answer }],
  };
}

function uuidCheck(c: ReturnType<typeof range>, value: unknown, what: string): void {
  if (typeof value !== 'string' || !UUID_V4.test(value)) c.out.push({ check: 'range', message: `${what} ${JSON.stringify(value)} is not a version-4 UUID` });
}

/** The rule of each built-in job, by name (the four `call-keyed-totals-*` variants share one). */
export const WITNESS_RULES: Readonly<Record<string, WitnessRule>> = {
  'processing-time-windows': {
    name: 'processing-time-windows',
    inputs: () => inputsUpTo(COUNT),
    uid: (r) => str(r, 'uid'),
    covers: (r) => numbers(r, 'members').map(String),
    chainKey: (r) => String(num(r, 'key')),
    link(previous, r) {
      if (previous === undefined) return null;
      return num(r, 'start') >= num(previous, 'end') ? null : `window [${String(r.start)}, ${String(r.end)}) does not follow the key's previous window, ending at ${String(previous.end)}`;
    },
    judge(r, env: WitnessEnv) {
      const c = range();
      const members = numbers(r, 'members');
      const [key, start, end] = [num(r, 'key'), num(r, 'start'), num(r, 'end')];
      c.expect(str(r, 'uid') === `${key}@${end}`, `uid ${String(r.uid)} is not ${key}@${end}`);
      c.expect(num(r, 'count') === members.length, `count ${String(r.count)} but ${members.length} members`);
      c.expect(num(r, 'sum') === members.reduce((s, m) => s + m, 0), `sum ${String(r.sum)} is not the sum of its members`);
      c.expect(end - start === WINDOW_MS, `window [${start}, ${end}) is not ${WINDOW_MS} ms long`);
      for (const m of members) c.expect(m % WINDOW_KEYS === key, `member ${m} is not of key ${key}`);
      c.within('window start', start, [env.wall[0] - WINDOW_MS, env.wall[1]]);
      return c.out;
    },
    answers: () => [],
  },
  'random-sampling': {
    name: 'random-sampling',
    inputs: () => inputsUpTo(COUNT),
    uid: (r) => str(r, 'uid'),
    covers: (r) => [str(r, 'uid')],
    chainKey: (r) => String(num(r, 'key')),
    link: sumLink,
    judge(r, env) {
      const c = range();
      const n = num(r, 'n');
      const draw = num(r, 'draw');
      c.expect(str(r, 'uid') === String(n), `uid ${String(r.uid)} is not record ${n}`);
      c.expect(num(r, 'key') === n % 8, `key ${String(r.key)} is not ${n % 8}`);
      c.expect(r.kept === draw < SAMPLE_SHARE, `kept is ${String(r.kept)} with draw ${draw}`);
      c.expect(num(r, 'after') === num(r, 'before') + (r.kept === true ? 1 : 0), `after ${String(r.after)} does not count this record onto ${String(r.before)}`);
      c.within('draw', draw, [0, 1 - Number.EPSILON]);
      c.within('clock read', num(r, 'at'), env.wall);
      if (r.kept === true) uuidCheck(c, r.id, 'id');
      else c.expect(r.id === null, 'a dropped record carries an id');
      return c.out;
    },
    answers: () => [],
  },
  'external-calls': answerTotals('external-calls', CALL_COUNT, (n) => n % 16),
  'call-keyed-totals': answerTotals('call-keyed-totals', CALL_COUNT, (_n, answer) => answer % ANSWER_KEYS),
  'racing-inputs': {
    name: 'racing-inputs',
    inputs: () => [...inputsUpTo(COUNT, 'fast:'), ...inputsUpTo(COUNT / 4, 'slow:')],
    uid: (r) => str(r, 'uid'),
    covers: (r) => [str(r, 'uid')],
    chainKey: (r) => String(num(r, 'key')),
    link(previous, r) {
      const broken = sumLink(previous, r);
      if (broken !== null) return broken;
      const prev = previous === undefined ? '' : str(previous, 'uid');
      return str(r, 'prev') === prev ? null : `follows ${JSON.stringify(r.prev)}, but the key's previous record is ${JSON.stringify(prev)}`;
    },
    judge(r) {
      const c = range();
      const n = num(r, 'n');
      c.expect(str(r, 'uid') === `${String(r.from)}:${n}`, `uid ${String(r.uid)} is not ${String(r.from)}:${n}`);
      c.expect(num(r, 'key') === n % 10, `key ${String(r.key)} is not ${n % 10}`);
      c.expect(num(r, 'after') === num(r, 'before') + 1, `after ${String(r.after)} is not before + 1`);
      return c.out;
    },
    answers: () => [],
  },
  timers: {
    name: 'timers',
    inputs: () => inputsUpTo(COUNT),
    uid: (r) => str(r, 'uid'),
    covers: (r) => numbers(r, 'members').map(String),
    chainKey: (r) => String(num(r, 'key')),
    link(previous, r) {
      const broken = sumLink(previous, r);
      if (broken !== null) return broken;
      const index = previous === undefined ? 1 : num(previous, 'index') + 1;
      return num(r, 'index') === index ? null : `firing ${String(r.index)} follows firing ${index - 1}`;
    },
    judge(r, env) {
      const c = range();
      const [key, index, before] = [num(r, 'key'), num(r, 'index'), num(r, 'before')];
      const members = numbers(r, 'members');
      c.expect(str(r, 'uid') === `${key}#${index}`, `uid ${String(r.uid)} is not ${key}#${index}`);
      c.expect(num(r, 'after') === before + members.length, `after ${String(r.after)} is not before ${before} + ${members.length} members`);
      // A key's records come from one source partition, in order: its members are its next numbers.
      members.forEach((m, i) => c.expect(m === key + TIMER_KEYS * (before + i), `member ${i} is ${m}, not the key's next number ${key + TIMER_KEYS * (before + i)}`));
      if (r.cause === 'timer') {
        const [armedAt, due, firedAt] = [num(r, 'armedAt'), num(r, 'due'), num(r, 'firedAt')];
        c.expect(due === armedAt + TIMER_DELAY_MS, `due ${due} is not armed ${armedAt} + ${TIMER_DELAY_MS}`);
        c.within('arming clock read', armedAt, env.wall);
        c.within('firing clock read', firedAt, [due, env.wall[1]]);
        c.within('monotonic clock read', num(r, 'mono'), env.monotonic);
      } else {
        c.expect(r.cause === 'end', `cause ${JSON.stringify(r.cause)}`);
        const last = members[members.length - 1];
        c.expect(last !== undefined && last >= COUNT - TIMER_KEYS, 'a flush without the key\'s last record');
      }
      return c.out;
    },
    answers: () => [],
  },
  'captured-globals': {
    ...answerTotals('captured-globals', COUNT / 3, (n) => n % 8),
    judge(r, env) {
      const c = range();
      c.out.push(...answerTotals('captured-globals', COUNT / 3, (n) => n % 8).judge(r, env));
      const draw = num(r, 'draw');
      c.within('Math.random()', draw, [0, 1 - Number.EPSILON]);
      c.expect(num(r, 'pick') === Math.floor(draw * 1000), `pick ${String(r.pick)} is not floor(${draw} × 1000)`);
      uuidCheck(c, r.id, 'crypto.randomUUID()');
      c.within('Date.now()', num(r, 'wall'), env.wall);
      c.within('new Date()', num(r, 'date'), env.wall);
      c.within('performance.now()', num(r, 'mono'), env.monotonic);
      return c.out;
    },
  },
};

/** The rule for a built-in job (the `call-keyed-totals-*` variants share one). */
export function ruleFor(job: string): WitnessRule | null {
  return WITNESS_RULES[job] ?? (job.startsWith('call-keyed-totals') ? WITNESS_RULES['call-keyed-totals']! : null);
}
