import test from 'ava';
import { describePlacement, placeTasks, placementNeeds, workerDomains } from '../../lib/runtime/placement.js';
import { strategyFor } from '../../lib/recovery/index.js';
import { Job, sequence } from '../../lib/index.js';
import { resolveJobOptions } from '../../lib/config.js';

// Placement of tasks on worker processes: forward chains stay together (they are one task), standbys
// live on another worker than their task, adjacent stages spread where they can, and the plan says which
// sharing depth recovers the failure of any one worker.

function pipeline(stages: number, parallelism: number): Job {
  const job = new Job({ parallelism });
  let stream = job.source(sequence((n) => n, { count: 10, partitions: parallelism }), { name: 'numbers' }).map((n) => n + 1, { name: 'chained' });
  for (let s = 0; s < stages; s++) stream = stream.keyBy((n) => n % 3).map((n) => n, { name: `stage${s}` });
  stream.collect({ name: 'out' });
  return job;
}

test('a forward chain is one task, so it stays in one worker; every task is placed on one of the workers', (t) => {
  const job = pipeline(2, 2);
  const plan = job.plan();
  t.true(plan.tasks.some((task) => plan.vertices[task.vertex]!.nodes.map((id) => plan.nodes[id]!.name).join(',') === 'numbers,chained'), 'the source and its map are chained into one task');
  const placement = placeTasks(plan, 3);
  t.is(placement.tasks.length, plan.tasks.length);
  t.true(placement.tasks.every((w) => w >= 0 && w < 3));
});

for (const workers of [2, 3, 4]) {
  test(`anti-affinity with ${workers} workers: each task's standby lives on another worker than the task, and standbys spread evenly`, (t) => {
    const plan = pipeline(3, 2).plan();
    const placement = placeTasks(plan, workers);
    for (const task of plan.tasks) t.not(placement.standbys[task.id], placement.tasks[task.id], `${task.name}`);
    const load = new Array<number>(workers).fill(0);
    for (const w of placement.standbys) load[w]!++;
    t.true(Math.max(...load) - Math.min(...load) <= 2, `standbys per worker: ${load.join(', ')}`);
  });
}

test('no worker is left idle while another holds two tasks: every worker counts in the balance', (t) => {
  const plan = pipeline(1, 2).plan();
  const placement = placeTasks(plan, 3);
  const load = new Array<number>(3).fill(0);
  for (const w of placement.tasks) load[w]!++;
  t.true(load.every((n) => n > 0), `tasks per worker: ${load.join(', ')}`);
});

test('with enough workers, adjacent stages go to different workers, so dsd 1 recovers the failure of any one worker', (t) => {
  const plan = pipeline(2, 1).plan();
  const placement = placeTasks(plan, 3);
  for (const task of plan.tasks) {
    for (const c of task.inputs) t.not(placement.tasks[plan.channels[c]!.from], placement.tasks[task.id], `${task.name} and its producer`);
  }
  t.is(placementNeeds(plan, placement).required, 1);
  t.regex(describePlacement(plan, placement, 1).at(-1)!, /dsd 1 recovers the failure of any one worker exactly once/);
});

/** A triangle: numbers → doubled, and both into a two-input join, then a last stage; two workers cannot keep all three apart. */
function triangle(): Job {
  const job = new Job({ parallelism: 1 });
  const numbers = job.source(sequence((n) => n, { count: 10 }), { name: 'numbers' });
  const doubled = numbers.keyBy((n) => n % 2).map((n) => n * 2, { name: 'doubled' });
  numbers
    .connect(doubled)
    .keyBy(
      (n) => n % 2,
      (n) => n % 2,
    )
    .process<number>({ processElement1: (n, ctx) => ctx.emit(n), processElement2: (n, ctx) => ctx.emit(n) }, { name: 'join' })
    .keyBy((n) => n % 3)
    .map((n) => n, { name: 'final' })
    .collect({ name: 'out' });
  return job;
}

test('where adjacent stages must share a worker, the plan says so and names the depth that would cover it; dsd "auto" picks it', (t) => {
  const plan = triangle().plan();
  const placement = placeTasks(plan, 2);
  const needs = placementNeeds(plan, placement);
  t.true(needs.required > 1, `required depth ${needs.required}`);
  const lines = describePlacement(plan, placement, 1);
  t.true(lines.some((line) => line.startsWith('warning: with dsd 1, a failure of worker-')), lines.join('\n'));
  t.true(lines.some((line) => line.includes(`dsd ${needs.required === -1 ? '-1 (full)' : needs.required} (or 'auto')`)), lines.join('\n'));
  const strategy = strategyFor(resolveJobOptions({ recovery: { mode: 'exactly-once', dsd: 'auto' } }), plan, workerDomains(placement));
  t.is(strategy.features.causal!.dsd, needs.required === -1 ? -1 : needs.required);
});

test('job.describePlan(N) lists each worker with its tasks and the standbys it holds', (t) => {
  const job = pipeline(1, 2);
  const lines = job.describePlan(2);
  t.true(lines.some((line) => /^worker-0: .+; standbys of .+/.test(line)), lines.join('\n'));
  t.true(lines.some((line) => /^worker-1: .+; standbys of .+/.test(line)), lines.join('\n'));
  t.is(job.placement(), null, 'the embedded runtime places nothing');
  t.is(job.placement(2)!.workers, 2);
});
