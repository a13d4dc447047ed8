import test from 'ava';
import { kafkaTest, runKafkaScenario } from './helpers.js';
kafkaTest('x', async (t) => {
  const run = await runKafkaScenario(t, { seed: 101, kill: ['out[0]'], killWindowMs: [150, 600], partitions: 2, perPartition: 2000, pace: { batch: 250, everyMs: 25 } });
  t.true(run.output.records > 0);
});
test.after.always(async () => {
  await new Promise((r) => setTimeout(r, 3000));
  const hs = (process as any)._getActiveHandles();
  for (const h of hs) console.error('HANDLE', h.constructor?.name, h.remoteAddress ?? '', h.remotePort ?? '', h._idleTimeout ?? '');
});
