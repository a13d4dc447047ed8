import type { ExecutionContext } from 'ava';
import { kafkaTest, runKafkaScenario, type KafkaScenarioRun } from './helpers.js';

// Kafka → keyed, nondeterministic job → Kafka, with kills at seeded random moments. The output topic,
// read back, must hold every sequence number of every sink subtask exactly once, and equal, record by
// record, what an oracle replay of the run's final determinant traces produces from the same input.

function assertExactlyOnce(t: ExecutionContext, run: KafkaScenarioRun, minRecoveries: number): void {
  t.true(run.result.recoveries >= minRecoveries, `recoveries: ${run.result.recoveries}`);
  t.is(run.result.escalations, 0, 'no escalation');
  t.is(run.output.duplicates, 0, 'no record twice in the output topic');
  t.is(run.output.gaps, 0, 'no sequence number missing');
  t.true(run.output.records > 0, 'the job produced output');
  t.deepEqual(run.output.bySubtask, run.oracle, 'the output topic equals the oracle, subtask by subtask');
}

const pace = { batch: 250, everyMs: 25 };

kafkaTest(
  'a killed source task re-reads its Kafka partitions from the checkpointed offsets, and the output topic holds each record once (I6, I12)',
  async (t) => {
    const run = await runKafkaScenario(t, { seed: 101, kill: ['in[0]'], killWindowMs: [150, 600], partitions: 2, perPartition: 5000, pace });
    assertExactlyOnce(t, run, 1);
  },
  { serial: true },
);

kafkaTest(
  'a killed keyed operator task replays its determinants and regenerates the same output: nothing lost or duplicated in Kafka (I4, I8)',
  async (t) => {
    const run = await runKafkaScenario(t, { seed: 202, kill: ['tag[1]'], killWindowMs: [150, 600], partitions: 2, perPartition: 5000, pace });
    assertExactlyOnce(t, run, 1);
  },
  { serial: true },
);

kafkaTest(
  'a killed sink task reads its determinants and its frontier back from the record headers, and writes each sequence number once (I12)',
  async (t) => {
    const run = await runKafkaScenario(t, { seed: 303, kill: ['out[1]'], killWindowMs: [150, 600], partitions: 2, perPartition: 5000, pace });
    assertExactlyOnce(t, run, 1);
  },
  { serial: true },
);

kafkaTest(
  'source, operator and sink tasks killed at seeded random moments in one run: the output topic still equals the oracle',
  async (t) => {
    for (const seed of [404, 405]) {
      const run = await runKafkaScenario(t, { seed, kill: ['in[1]', 'count[0]', 'out[0]'], killWindowMs: [100, 500], partitions: 2, perPartition: 8000, pace });
      assertExactlyOnce(t, run, 3);
    }
  },
  { serial: true },
);

kafkaTest(
  'in three worker processes: the processes holding the keyed operator and the sink are SIGKILLed; the output topic still equals the oracle',
  async (t) => {
    const run = await runKafkaScenario(t, {
      seed: 606,
      kill: ['count[0]', 'out[1]'],
      killWindowMs: [300, 1200],
      partitions: 2,
      perPartition: 8000,
      pace,
      workers: 3,
      job: { recovery: { mode: 'exactly-once', checkpointIntervalMs: 100, dsd: -1 } },
    });
    assertExactlyOnce(t, run, 1);
    t.true(run.result.events.some((e) => e.type === 'worker-lost'), 'a worker process was lost');
  },
  { serial: true },
);
