import test from 'ava';
import { fileURLToPath } from 'node:url';
import { loadWorkerResults, newestWorkerResults } from '../../bench/report-workers.js';

// The committed worker results that docs/benchmarks.md shows: each file holds the contract's fields and
// `commands.json` names the command that printed it. Structure only: no figure is asserted.
const root = fileURLToPath(new URL('../../', import.meta.url));

const OVERHEAD_MODES = ['none', 'global-rollback', 'at-least-once', 'exactly-once', 'exactly-once-full'] as const;
const RECOVERY_FIELDS = ['recoveryMs', 'outputGapMs', 'peakLatencyMs', 'detectionMs', 'takeoverMs', 'duplicates', 'lost'] as const;

test('every worker result names its command and holds the contract fields', (t) => {
  const dir = newestWorkerResults(root);
  if (dir === null) {
    t.pass('no worker results');
    return;
  }
  const data = loadWorkerResults(root, dir);
  t.true(data.overhead.length + data.recovery.length > 0);
  for (const { file, command, result: o } of data.overhead) {
    t.regex(command, new RegExp(`^npx causalflow bench overhead .*--query ${o.query} .*--workers ${o.workers}\\b.*--json$`), file);
    t.true(o.workers > 0, file);
    for (const key of ['seconds', 'peakRssMB', 'embeddedNoneRatio'] as const) t.true(key in o, `${file}: ${key}`);
    for (const mode of OVERHEAD_MODES) {
      const f = o.modes[mode];
      t.truthy(f, `${file}: ${mode}`);
      for (const key of ['eventsPerSec', 'p50Ms', 'p99Ms', ...(mode === 'none' ? [] : ['ratio', 'ratioMin', 'ratioMax'])]) t.true(key in f!, `${file}: ${mode}.${key}`);
    }
  }
  for (const { file, command, result: r } of data.recovery) {
    t.regex(command, new RegExp(`^npx causalflow bench recovery .*--query ${r.query} .*--workers ${r.workers}\\b.*--json$`), file);
    t.true(r.workers > 0 && r.killedWorkers.length > 0, file);
    for (const key of ['failures', 'rate'] as const) t.true(key in r, `${file}: ${key}`);
    for (const mode of ['global-rollback', 'exactly-once'] as const) {
      const f = r.modes[mode];
      t.truthy(f, `${file}: ${mode}`);
      for (const key of RECOVERY_FIELDS) t.true(key in f!, `${file}: ${mode}.${key}`);
    }
  }
});
