/**
 * The witness checker: it judges a job's output from what the records carry, and from the witness
 * server's log, with no knowledge of how the job ran. Each record of a verify job carries the inputs and
 * the nondeterministic values that produced it (source fields, random draws, clock reads, the server's
 * answers, the keyed state before and after it, a window's members); a {@link WitnessRule} says how to
 * recompute it. The checks:
 *
 * | Check | A problem when |
 * | --- | --- |
 * | `identity` | two records have one identity (one output shown twice) |
 * | `coverage` | an input that must produce output is accounted for by no record, or by two |
 * | `chain` | a record's state before is not the state after of the previous record of its key, in output order (or a key shows in two partitions) |
 * | `recompute` | a derived field differs from its recomputation from the carried values, or a field is missing |
 * | `range` | a carried value lies outside its range (a draw outside [0, 1), a clock read outside the run, …) |
 * | `answer` | an answer is not the server's answer to a request for that record: never given, or given for another record |
 * | `repeated-call` | the server answered a record more than once and the record carries an earlier answer (a call made again after its first answer was used) |
 *
 * A call made again only because the first was in flight when its task died is fine: its answer was
 * never used, and the record carries the last one.
 *
 * This folder imports only Node built-ins (a test checks it): a bug shared by the runtime and its checker
 * cannot hide here.
 */
import type { ServedCall } from './server.js';

/** The names of the checks (see the module comment). */
export const CHECKS = ['identity', 'coverage', 'chain', 'recompute', 'range', 'answer', 'repeated-call'] as const;
/** One of {@link CHECKS}. */
export type Check = (typeof CHECKS)[number];

/** What a record's values must lie within, besides its own rules. */
export interface WitnessEnv {
  /** Wall-clock span of the run, ms: every wall-clock read lies in it. */
  readonly wall: readonly [number, number];
  /** Monotonic-clock span of the run (`performance.now()` ms). */
  readonly monotonic: readonly [number, number];
  /** The witness server's log of answered requests. */
  readonly calls: readonly ServedCall[];
}

/** An answer a record carries, and the record identity it must have been given for. */
export interface CarriedAnswer {
  /** The identity the request was about. */
  id: string;
  /** The answer carried. */
  answer: unknown;
}

/** How to judge the records of one job. Records are untrusted: every accessor must cope with any value. */
export interface WitnessRule {
  /** Job name. */
  readonly name: string;
  /** Every input that must be accounted for exactly once, by identity. */
  inputs(): Iterable<string>;
  /** The record's identity, unique in a correct output. */
  uid(record: Rec): string;
  /** The inputs the record accounts for. */
  covers(record: Rec): readonly string[];
  /** The key of the chain the record belongs to. */
  chainKey(record: Rec): string;
  /** Why `record` does not follow `previous` (the previous record of its key; undefined for the first), or null. */
  link(previous: Rec | undefined, record: Rec): string | null;
  /** Problems of the record on its own: recomputation (`recompute`) and ranges (`range`). */
  judge(record: Rec, env: WitnessEnv): { check: 'recompute' | 'range'; message: string }[];
  /** The server answers the record carries. */
  answers(record: Rec): readonly CarriedAnswer[];
}

/** A record as the checker sees it: a bag of fields. */
export type Rec = Readonly<Record<string, unknown>>;

/** One problem found. */
export interface Problem {
  /** The check that failed. */
  check: Check;
  /** Partition and position of the record (-1 for a problem of no record: an input never covered). */
  partition: number;
  index: number;
  /** What is wrong, in words. */
  message: string;
}

/** What the witness found in one run's output. */
export interface WitnessReport {
  /** Job name. */
  job: string;
  /** Records checked. */
  records: number;
  /** Problems, by check. */
  counts: Record<Check, number>;
  /** All problems. */
  problems: number;
  /** The first problems, for people (at most 10). */
  examples: Problem[];
}

/** Options of {@link checkWitness}. */
export interface WitnessOptions {
  /**
   * The output is incomplete (the job stopped): inputs never covered are not problems, inputs covered
   * twice still are.
   */
  incomplete?: boolean;
  /**
   * Per partition, positions of records from an execution a rollback abandoned, on a sink that declared
   * at-least-once: they are judged on their own (`recompute`, `range`, `answer`) but take no part in
   * identity, coverage, chains or repeated calls.
   */
  abandoned?: readonly (readonly number[])[];
}

/** Checks `output` (partitions of records, in output order) against `rule` and the server log. */
export function checkWitness(rule: WitnessRule, output: readonly (readonly unknown[])[], env: WitnessEnv, options: WitnessOptions = {}): WitnessReport {
  const report: WitnessReport = { job: rule.name, records: 0, counts: Object.fromEntries(CHECKS.map((c) => [c, 0])) as Record<Check, number>, problems: 0, examples: [] };
  const problem = (check: Check, partition: number, index: number, message: string): void => {
    report.counts[check]++;
    report.problems++;
    if (report.examples.length < 10) report.examples.push({ check, partition, index, message });
  };
  const byAnswer = new Map<unknown, ServedCall>();
  const lastAnswerOf = new Map<string, ServedCall>();
  const answersOf = new Map<string, number>();
  for (const call of env.calls) {
    byAnswer.set(call.answer, call);
    lastAnswerOf.set(call.id, call);
    answersOf.set(call.id, (answersOf.get(call.id) ?? 0) + 1);
  }
  const expected = new Set(rule.inputs());
  const covered = new Map<string, number>();
  const uids = new Map<string, string>();
  const chainPartition = new Map<string, number>();
  output.forEach((partition, p) => {
    const abandoned = new Set(options.abandoned?.[p] ?? []);
    const last = new Map<string, Rec>();
    partition.forEach((value, i) => {
      report.records++;
      const at = `${p}#${i}`;
      if (value === null || typeof value !== 'object') {
        problem('recompute', p, i, `record ${at} is not an object: ${JSON.stringify(value)}`);
        return;
      }
      const record = value as Rec;
      const uid = safe(() => rule.uid(record), '?');
      for (const found of judged(rule, record, env)) {
        problem(found.check, p, i, `${uid}: ${found.message}`);
      }
      for (const { id, answer } of safe(() => rule.answers(record), [])) {
        const served = byAnswer.get(answer);
        if (served === undefined) problem('answer', p, i, `${uid}: answer ${JSON.stringify(answer)} was never given by the server`);
        else if (served.id !== id) problem('answer', p, i, `${uid}: answer ${served.answer} was given to the request for ${JSON.stringify(served.id)}, not for ${JSON.stringify(id)}`);
        else if (!abandoned.has(i) && lastAnswerOf.get(id)!.call !== served.call) {
          problem('repeated-call', p, i, `${uid}: the server answered ${answersOf.get(id)} requests for ${JSON.stringify(id)}; the record carries the answer to call ${served.call}, not to the last one (call ${lastAnswerOf.get(id)!.call})`);
        }
      }
      if (abandoned.has(i)) return;
      const seenAt = uids.get(uid);
      if (seenAt !== undefined) problem('identity', p, i, `${uid}: shown twice, at ${seenAt} and ${at}`);
      else uids.set(uid, at);
      for (const input of safe(() => rule.covers(record), [])) {
        const n = (covered.get(input) ?? 0) + 1;
        covered.set(input, n);
        if (!expected.has(input)) problem('coverage', p, i, `${uid}: accounts for ${JSON.stringify(input)}, which is no input of the job`);
        else if (n === 2) problem('coverage', p, i, `${uid}: accounts for input ${JSON.stringify(input)} a second time`);
      }
      const key = safe(() => rule.chainKey(record), '?');
      const home = chainPartition.get(key);
      if (home === undefined) chainPartition.set(key, p);
      else if (home !== p) problem('chain', p, i, `${uid}: key ${key} shows in partitions ${home} and ${p}`);
      const broken = safe(() => rule.link(last.get(key), record), 'its chain fields cannot be read');
      if (broken !== null) problem('chain', p, i, `${uid}: ${broken}`);
      last.set(key, record);
    });
  });
  if (!options.incomplete) {
    let missing = 0;
    for (const input of expected) {
      if (covered.has(input)) continue;
      if (missing++ < 3) problem('coverage', -1, -1, `input ${JSON.stringify(input)} is accounted for by no record`);
      else {
        report.counts.coverage++;
        report.problems++;
      }
    }
  }
  return report;
}

/** One line for people: "exact" or "2 chain, 1 repeated-call (first: …)". */
export function describeWitness(report: WitnessReport): string {
  if (report.problems === 0) return `witness: ${report.records} records recomputed, every chain and answer holds`;
  const parts = CHECKS.filter((c) => report.counts[c] > 0).map((c) => `${report.counts[c]} ${c}`);
  return `witness: ${parts.join(', ')} (first: ${report.examples[0]?.message ?? '?'})`;
}

/** The rule's judgement of a record; a field it cannot read is a `recompute` problem naming the field. */
function judged(rule: WitnessRule, record: Rec, env: WitnessEnv): { check: 'recompute' | 'range'; message: string }[] {
  try {
    return rule.judge(record, env);
  } catch (error) {
    return [{ check: 'recompute', message: error instanceof Error ? error.message : String(error) }];
  }
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
