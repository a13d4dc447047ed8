import test from 'ava';
import type { JobControl } from '../../lib/runtime/job-control.js';
import { judgeAtLogEnd } from '../../lib/recovery/orphans.js';

// The orphan check at a replacement's log end (I14), on a plan of one producer (task 0) and two consumers (tasks
// 1 and 2, channels 0 and 1). The control answers `holdings` when the test says so, to show in which order the
// check asks and what it makes of consumers that die meanwhile.

interface Pending {
  index: number;
  answer: (seq: number) => void;
}

function controlOf(dead: Set<number>): { control: JobControl; asked: Pending[] } {
  const asked: Pending[] = [];
  const plan = {
    tasks: [
      { id: 0, name: 'producer[0]', outputs: [[0, 1]] },
      { id: 1, name: 'consumer[0]', outputs: [] },
      { id: 2, name: 'consumer[1]', outputs: [] },
    ],
    channels: [
      { index: 0, from: 0, to: 1, consumerInput: 0 },
      { index: 1, from: 0, to: 2, consumerInput: 0 },
    ],
  };
  const control = {
    plan,
    causal: true,
    isDead: (taskId: number) => dead.has(taskId),
    incarnationOf: () => 1,
    holdings: (index: number) => new Promise<number>((answer) => asked.push({ index, answer })),
  } as unknown as JobControl;
  return { control, asked };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('I14: the check asks every live consumer what it holds at once, not one after another, and lets the replacement go live when it regenerated as far', async (t) => {
  const { control, asked } = controlOf(new Set());
  const verdict = judgeAtLogEnd(control, 0, [10, 20], [], new Map());
  await turn();
  t.deepEqual(asked.map((a) => a.index), [0, 1], 'both consumers asked before either answered');
  asked[1]!.answer(20);
  asked[0]!.answer(7);
  const outcome = await verdict;
  t.is(outcome.orphan, null);
  t.is(outcome.waitingFor.size, 0);
});

test('I14: a live consumer holding more than the replacement regenerated is an orphan, named with both numbers', async (t) => {
  const { control, asked } = controlOf(new Set());
  const verdict = judgeAtLogEnd(control, 0, [10, 20], [], new Map());
  await turn();
  asked[0]!.answer(10);
  asked[1]!.answer(21);
  const outcome = await verdict;
  t.truthy(outcome.orphan);
  t.regex(outcome.orphan!.message, /consumer\[1\] holds elements up to seq 21 from producer\[0\].*regenerated up to 20/);
});

test('I14: a consumer dead at the log end is not asked, and one that dies while the others answer is waited for too: what it held died with it, its replacement is judged once it exists', async (t) => {
  const dead = new Set([1]);
  const { control, asked } = controlOf(dead);
  const verdict = judgeAtLogEnd(control, 0, [10, 20], [], new Map());
  await turn();
  t.deepEqual(asked.map((a) => a.index), [1], 'only the live consumer is asked');
  dead.add(2);
  asked[0]!.answer(99);
  const outcome = await verdict;
  t.is(outcome.orphan, null, 'what a dead consumer held orphans nothing');
  t.deepEqual([...outcome.waitingFor].sort(), [
    [0, 1],
    [1, 2],
  ]);
});

test("I14: a consumer replaced in this episode is judged by what its own recorded log will consume, where that is more than it holds", async (t) => {
  const { control, asked } = controlOf(new Set());
  const verdict = judgeAtLogEnd(control, 0, [10, 20], [], new Map([[1, [12]]]));
  await turn();
  asked[0]!.answer(3);
  asked[1]!.answer(5);
  const outcome = await verdict;
  t.regex(outcome.orphan!.message, /consumer\[0\] holds elements up to seq 12/);
});
