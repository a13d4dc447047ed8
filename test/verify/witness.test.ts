import test from 'ava';
import { checkWitness, ruleFor, WitnessServer, type Check, type WitnessEnv, type WitnessReport } from '../../lib/verify/witness/index.js';
import { ANSWER_KEYS, CALL_COUNT, type AnswerRecord } from '../../lib/verify/witness/rules.js';
import { askServer } from '../../lib/verify/jobs.js';

// Every check of the witness can fail: an honest output of `call-keyed-totals` (answers from the real
// witness server, a running total per key decided by the answer) passes, and each tampering of it is
// caught by the check meant for it, and only by that check. The tests run in turn: the last one calls the
// server again.

const rule = ruleFor('call-keyed-totals-p2-sink-task')!;
let server: WitnessServer;
let honest: AnswerRecord[][];

test.before(async () => {
  server = await WitnessServer.start();
  honest = [[], []];
  const totals = new Map<number, number>();
  for (let n = 0; n < CALL_COUNT; n++) {
    const uid = String(n);
    const answer = await askServer(server, uid);
    const key = answer % ANSWER_KEYS;
    const before = totals.get(key) ?? 0;
    totals.set(key, before + answer);
    honest[key % 2]!.push({ uid, n, key, answer, before, after: before + answer });
  }
});

test.after.always(async () => {
  await server?.close();
});

const env = (): WitnessEnv => ({ wall: [0, Date.now()], monotonic: [0, performance.now()], calls: server.log() });
const copy = (): AnswerRecord[][] => honest.map((p) => p.map((r) => ({ ...r })));
const problemsBy = (report: WitnessReport): Partial<Record<Check, number>> => Object.fromEntries(Object.entries(report.counts).filter(([, n]) => n > 0));
/** The record of number `n` and where it is. */
const find = (output: AnswerRecord[][], n: number): { p: number; i: number; r: AnswerRecord } => {
  for (const [p, partition] of output.entries()) {
    const i = partition.findIndex((r) => r.n === n);
    if (i >= 0) return { p, i, r: partition[i]! };
  }
  throw new Error(`no record ${n}`);
};
/** Recomputes every chain of `output` from its answers, as a job that used them would have, each key in partition key % 2. */
const rechain = (output: AnswerRecord[][]): void => {
  const records = output.flat().sort((a, b) => a.n - b.n);
  const totals = new Map<number, number>();
  output.forEach((partition) => (partition.length = 0));
  for (const r of records) {
    r.key = r.answer % ANSWER_KEYS;
    r.before = totals.get(r.key) ?? 0;
    r.after = r.before + r.answer;
    totals.set(r.key, r.after);
    output[r.key % 2]!.push(r);
  }
};

test.serial('the honest output passes every check', (t) => {
  const report = checkWitness(rule, honest, env());
  t.is(report.records, CALL_COUNT);
  t.deepEqual(problemsBy(report), {});
});

test.serial('a record shown twice: an identity problem, and its input covered twice', (t) => {
  const output = copy();
  const { p, i, r } = find(output, 100);
  output[p]!.splice(i + 1, 0, { ...r });
  const report = checkWitness(rule, output, env());
  t.is(report.counts.identity, 1);
  t.is(report.counts.coverage, 1);
  t.true(report.counts.chain >= 1, 'the copy also repeats the chain step');
  t.regex(report.examples.find((e) => e.check === 'identity')!.message, /shown twice/);
});

test.serial('a gap: the input is accounted for by no record, and the next record of its key breaks the chain', (t) => {
  const output = copy();
  const { p, i } = find(output, 500);
  output[p]!.splice(i, 1);
  const report = checkWitness(rule, output, env());
  t.deepEqual(problemsBy(report), { coverage: 1, chain: 1 });
  t.regex(report.examples.find((e) => e.check === 'coverage')!.message, /"500" is accounted for by no record/);
});

test.serial('a broken chain: state before that is not the previous record’s state after', (t) => {
  const output = copy();
  const { r } = find(output, 700);
  r.before += 1;
  r.after += 1;
  const report = checkWitness(rule, output, env());
  t.is(report.counts.chain, 2, 'this record, and the next of its key');
  t.is(report.problems, 2);
});

test.serial('a derived value that does not recompute: after is not before + answer', (t) => {
  const output = copy();
  find(output, 900).r.after += 5;
  const report = checkWitness(rule, output, env());
  t.is(report.counts.recompute, 1);
});

test.serial('an answer the server never gave is an answer problem', (t) => {
  const output = copy();
  find(output, 42).r.answer = 7 * ANSWER_KEYS * 1_000_003;
  rechain(output);
  const report = checkWitness(rule, output, env());
  t.deepEqual(problemsBy(report), { answer: 1 });
  t.regex(report.examples[0]!.message, /never given by the server/);
});

test.serial('an answer the server gave to another record’s request is an answer problem', (t) => {
  const output = copy();
  const a = find(output, 10).r;
  const b = find(output, 11).r;
  [a.answer, b.answer] = [b.answer, a.answer];
  rechain(output);
  const report = checkWitness(rule, output, env());
  t.is(report.counts.answer, 2);
  t.regex(report.examples.find((e) => e.check === 'answer')!.message, /given to the request for "1[01]", not for "1[01]"/);
});

test.serial('records of an execution a rollback abandoned are judged on their own only; a tampered one is still caught', (t) => {
  const output = copy();
  const { p, i, r } = find(output, 300);
  output[p]!.splice(i, 0, { ...r });
  t.deepEqual(problemsBy(checkWitness(rule, output, env(), { abandoned: [p === 0 ? [i] : [], p === 1 ? [i] : []] })), {});
  output[p]![i]!.answer += ANSWER_KEYS * 1_000_003;
  t.deepEqual(problemsBy(checkWitness(rule, output, env(), { abandoned: [p === 0 ? [i] : [], p === 1 ? [i] : []] })), { answer: 1, recompute: 1 }, 'an answer never given, and a total that does not follow from it');
});

test.serial('an incomplete output (the job stopped) misses inputs without a coverage problem, but still shows duplicates', (t) => {
  const output = copy().map((partition) => partition.slice(0, 100));
  t.deepEqual(problemsBy(checkWitness(rule, output, env(), { incomplete: true })), {});
  output[0]!.push({ ...output[0]![0]! });
  t.true(checkWitness(rule, output, env(), { incomplete: true }).counts.identity === 1);
});

test.serial('a key in two partitions breaks its chain', (t) => {
  const output = copy();
  const moved = output[0]!.pop()!;
  output[1]!.push(moved);
  t.true(checkWitness(rule, output, env()).counts.chain >= 1);
});

test.serial('ranges and recomputation in the other jobs: a draw of 1.5, a clock read outside the run, a window sum, a timer member out of turn, a chain of uids', (t) => {
  const span: WitnessEnv = { wall: [1000, 2000], monotonic: [10, 20], calls: [] };
  const judge = (job: string, record: object) => problemsBy(checkWitness(ruleFor(job)!, [[record]], span, { incomplete: true }));
  const sample = { uid: '5', n: 5, draw: 0.5, kept: false, id: null, at: 1500, key: 5, before: 0, after: 0 };
  t.deepEqual(judge('random-sampling', sample), {});
  t.deepEqual(judge('random-sampling', { ...sample, draw: 1.5 }), { range: 1 });
  t.deepEqual(judge('random-sampling', { ...sample, at: 3000 }), { range: 1 });
  t.deepEqual(judge('random-sampling', { ...sample, draw: 0.1 }), { recompute: 1 }, 'kept must follow the draw');
  const window = { uid: '3@1015', key: 3, start: 1000, end: 1015, count: 2, sum: 46, members: [3, 43] };
  t.deepEqual(judge('processing-time-windows', window), {});
  t.deepEqual(judge('processing-time-windows', { ...window, sum: 47 }), { recompute: 1 });
  t.deepEqual(judge('processing-time-windows', { ...window, members: [3, 44], sum: 47 }), { recompute: 1 });
  const fired = { uid: '2#1', key: 2, index: 1, before: 0, after: 2, members: [2, 22], cause: 'timer', armedAt: 1100, due: 1103, firedAt: 1104, mono: 15 };
  t.deepEqual(judge('timers', fired), {});
  t.deepEqual(judge('timers', { ...fired, members: [22, 2] }), { recompute: 2 });
  t.deepEqual(judge('timers', { ...fired, firedAt: 1102 }), { range: 1 }, 'a timer fired before it was due');
  const race = (n: number, before: number, prev: string) => ({ uid: `fast:${n}`, from: 'fast', n, key: n % 10, before, after: before + 1, prev });
  const racing = ruleFor('racing-inputs')!;
  t.deepEqual(problemsBy(checkWitness(racing, [[race(1, 0, ''), race(11, 1, 'fast:1')]], span, { incomplete: true })), {});
  t.deepEqual(problemsBy(checkWitness(racing, [[race(1, 0, ''), race(11, 1, 'fast:2')]], span, { incomplete: true })), { chain: 1 });
  t.deepEqual(judge('captured-globals', { uid: '1', n: 1, key: 1, answer: 1, before: 0, after: 1, draw: 0.5, pick: 500, id: 'not-a-uuid', wall: 1500, date: 1500, mono: 15 }), { range: 1, answer: 1 });
});

test.serial('a record that is no object, or lacks a field, is a recompute problem naming it', (t) => {
  const report = checkWitness(rule, [[null, { uid: '1', n: 1, key: 1, before: 0, after: 1 }]], env(), { incomplete: true });
  t.is(report.counts.recompute, 2);
  t.true(report.examples.some((e) => /answer is undefined, not a number/.test(e.message)));
});

test.serial('a call made twice whose first answer is shown: a repeated-call problem; carrying the last answer instead is fine', async (t) => {
  // Record 1234 is asked again, as a replacement that could not replay the first answer would.
  const second = await askServer(server, '1234');
  const report = checkWitness(rule, honest, env());
  t.deepEqual(problemsBy(report), { 'repeated-call': 1 });
  t.regex(report.examples[0]!.message, /answered 2 requests for "1234"/);
  // The first call was in flight when its task died and its answer was never used: the record shows the last.
  const output = copy();
  find(output, 1234).r.answer = second;
  rechain(output);
  t.deepEqual(problemsBy(checkWitness(rule, output, env())), {});
});
