import { kafkaTest, readTopic, runKafkaScenario, runOutput } from './helpers.js';

// delivery: 'transactional' under global rollback: each checkpoint's output is one Kafka transaction per
// sink subtask, committed when the next checkpoint completes. A read_committed consumer must see every
// record once, in order, equal to the oracle, although rollbacks regenerate (and abort) output.

kafkaTest(
  "transactional delivery: read_committed consumers see each checkpoint's output once, across rollbacks that abort the transactions in flight",
  async (t) => {
    const run = await runKafkaScenario(t, {
      seed: 505,
      kill: ['count[1]', 'out[0]'],
      killWindowMs: [200, 900],
      partitions: 2,
      perPartition: 5000,
      pace: { batch: 250, everyMs: 25 },
      job: { recovery: { mode: 'global-rollback', checkpointIntervalMs: 100 } },
      sink: { delivery: 'transactional' },
      readIsolation: 'read_committed',
    });
    t.true(run.result.recoveries >= 1, `recoveries: ${run.result.recoveries}`);
    t.true(run.result.events.some((e) => e.type === 'rollback-started'), 'the job rolled back');
    t.is(run.output.duplicates, 0, 'no record twice for read_committed');
    t.is(run.output.gaps, 0, 'no sequence number missing');
    t.true(run.output.records > 0);
    t.deepEqual(run.output.bySubtask, run.oracle, 'read_committed output equals the oracle');
    // Transactions were really used: commit markers take offsets, so offsets outrun the records.
    const uncommitted = await readTopic(run.client, run.outputTopic, 'read_uncommitted');
    const ends = await run.client.listOffsets(run.outputTopic, 'latest', 'read_uncommitted');
    const total = uncommitted.reduce((n, p) => n + p.length, 0);
    t.true(ends.reduce((a, b) => a + b, 0) > total, 'transaction markers in the log');
    // What read_uncommitted sees beyond read_committed are records of aborted transactions, never committed ones.
    t.true(total >= run.output.records);
    const raw = runOutput(uncommitted, run.sink.runId);
    t.is(raw.gaps, 0);
    t.log(`${raw.duplicates} records of aborted transactions are in the log, invisible to read_committed`);
  },
  { serial: true },
);
