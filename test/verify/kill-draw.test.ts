import test from 'ava';
import { SeededRandom } from '../../lib/util/random.js';
import { VERIFY_JOBS } from '../../lib/verify/jobs.js';
import { classifyWorkerKills, drawWorkerKills, WORKER_KILL_PATTERNS, type WorkerKillPattern } from '../../lib/verify/worker-kills.js';
import type { JobEvent } from '../../lib/runtime/events.js';

// The seeded choice of worker kills (`verify --workers N`), without processes: reproducible per seed, every
// pattern drawn across seeds, and each pattern aims where it says.

const SEED = 20261121;
const spec = VERIFY_JOBS.find((j) => j.name === 'random-sampling')!;
const { job } = spec.build({ parallelism: 2 }, { url: 'http://127.0.0.1:9', token: 'none' });
const placement = job.placement(3)!;
const WINDOW = [80, 530] as const;

test(`one seed draws the same worker kills every time (seed ${SEED})`, (t) => {
  const a = drawWorkerKills(new SeededRandom(SEED), placement, 3, WINDOW);
  const b = drawWorkerKills(new SeededRandom(SEED), placement, 3, WINDOW);
  t.deepEqual(a, b);
  t.is(a.kills.length, 3);
  t.is(a.faults.flatMap((f) => f.task).length + a.respawnKills.length, 3, 'every kill is made once');
  t.is(a.kills[0]!.pattern, 'fresh');
  t.true(a.kills[0]!.at!.afterMs >= WINDOW[0] && a.kills[0]!.at!.afterMs < WINDOW[1]);
});

test(`across seeds every pattern is drawn, and each aims where it says: two workers at once, a task's standby with it, a standby holder during the recovery, the first respawned worker after two died at once (seeds ${SEED}…+299)`, (t) => {
  const seen = new Map<WorkerKillPattern, number>();
  for (let seed = SEED; seed < SEED + 300; seed++) {
    const { faults, kills, respawnKills } = drawWorkerKills(new SeededRandom(seed), placement, 3, WINDOW);
    for (let i = 1; i < kills.length; i++) {
      const [before, kill] = [kills[i - 1]!, kills[i]!];
      seen.set(kill.pattern, (seen.get(kill.pattern) ?? 0) + 1);
      const first = before.at;
      const holders = first ? new Set(placement.tasks.flatMap((w, id) => (w === first.worker ? [placement.standbys[id]!] : []))) : new Set<number>();
      const sameInstant = (): boolean => faults.some((f) => f.task.includes(`worker-${first!.worker}`) && f.task.includes(`worker-${kill.at!.worker}`));
      switch (kill.pattern) {
        case 'together':
          t.true(sameInstant(), `seed ${seed}: one instant`);
          t.not(kill.at!.worker, first!.worker);
          t.is(kill.at!.afterMs, first!.afterMs);
          break;
        case 'standby-together':
          t.true(sameInstant(), `seed ${seed}: one instant`);
          if (i === 1) t.true(holders.has(kill.at!.worker), `seed ${seed}: worker-${kill.at!.worker} holds a standby of a task of worker-${first!.worker}`);
          break;
        case 'during-recovery': {
          const delay = kill.at!.afterMs - first!.afterMs;
          t.true(delay >= 1 && delay <= 150, `seed ${seed}: delay ${delay} ms`);
          if (i === 1) t.true(holders.has(kill.at!.worker), `seed ${seed}: worker-${kill.at!.worker} holds a standby of a task of worker-${first!.worker}`);
          break;
        }
        case 'standbys-only': {
          const instant = faults.find((f) => f.task.includes(`worker-${first!.worker}`))!;
          t.true(instant.task.length >= 2, `seed ${seed}: follows two workers killed at once`);
          t.deepEqual(kill.respawned!.of.map((w) => `worker-${w}`), instant.task);
          t.true(respawnKills.includes(kill.respawned!));
          break;
        }
        case 'fresh':
          if (first) t.true(kill.at!.afterMs >= first.afterMs + 40, `seed ${seed}: a later moment`);
      }
    }
  }
  for (const pattern of WORKER_KILL_PATTERNS) t.true((seen.get(pattern) ?? 0) >= 10, `${pattern}: ${seen.get(pattern) ?? 0}`);
});

test('the tally reads what the kills hit from the events: two workers in one failure group, standbys of dying tasks, a kill during a replay, a worker holding standbys only', (t) => {
  const e = (t: number, type: string, details: object): JobEvent => ({ t, type, ...details }) as JobEvent;
  const events = [
    e(100, 'worker-killed', { worker: 2, tasks: ['sample[0]', 'sample[1]'], standbys: ['rank[0]'] }),
    e(114, 'worker-killed', { worker: 0, tasks: ['rank[0]'], standbys: ['sample[0]'] }),
    e(120, 'task-failed', { task: 'sample[0]', cause: 'gone', group: 1, worker: 2 }),
    e(120, 'task-failed', { task: 'sample[1]', cause: 'gone', group: 1, worker: 2 }),
    e(121, 'task-failed', { task: 'rank[0]', cause: 'gone', group: 1, worker: 0 }),
    e(140, 'replay-started', { task: 'sample[0]', entries: 3 }),
    e(145, 'worker-killed', { worker: 1, tasks: ['numbers[1]'], standbys: [] }),
    e(150, 'task-failed', { task: 'numbers[1]', cause: 'gone', group: 2, worker: 1 }),
    e(170, 'recovery-finished', {}),
    e(900, 'worker-killed', { worker: 2, tasks: [], standbys: ['numbers[1]'] }),
  ];
  t.deepEqual(classifyWorkerKills(events), { killed: 4, together: 1, duringRecovery: 1, duringReplay: 1, standbyOfFailing: 2, standbysOnly: 1 });
});
