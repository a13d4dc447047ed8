import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, stopBroker } from '../../lib/connectors/kafka/broker.js';
import { kafkaTest, runKafkaScenario } from './helpers.js';

// The broker goes down in the middle of a run (SIGKILL, a crash) and comes back on the same port with
// the same data. The job pauses — sources cannot fetch, sinks cannot send — and goes on, with nothing
// lost or duplicated, while tasks are also killed. This test starts a broker of its own, so that the
// restart does not disturb the other test files, which share the one `npm test` started.

kafkaTest(
  'the broker crashes and restarts mid-run while tasks are killed: the job pauses, goes on, and the output topic equals the oracle',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'causalflow-test-restart-'));
    t.teardown(async () => {
      await stopBroker({ dir, signal: 'SIGKILL' });
      rmSync(dir, { recursive: true, force: true });
    });
    const broker = await startBroker({ dir, heapOptions: '-Xmx384m -Xms64m' });
    let restartedAt = 0;
    const run = await runKafkaScenario(t, {
      seed: 606,
      kill: ['tag[0]', 'out[1]'],
      killWindowMs: [100, 1500],
      partitions: 2,
      perPartition: 6000,
      pace: { batch: 200, everyMs: 25 },
      brokers: broker.brokers,
      during: async (handle) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        const before = handle.progress().recordsOut;
        const stopped = await stopBroker({ dir, signal: 'SIGKILL' });
        t.true(stopped.wasRunning);
        await startBroker({ dir, heapOptions: '-Xmx384m -Xms64m' });
        restartedAt = handle.progress().recordsOut;
        t.log(`broker killed after ${before} output records, back after ${restartedAt}`);
      },
    });
    t.true(run.result.recordsOut > restartedAt, 'the job went on after the restart');
    t.true(run.result.recoveries >= 2, `recoveries: ${run.result.recoveries}`);
    t.is(run.result.escalations, 0);
    t.is(run.output.duplicates, 0, 'no record twice');
    t.is(run.output.gaps, 0, 'no sequence number missing');
    t.deepEqual(run.output.bySubtask, run.oracle);
  },
  { serial: true },
);
