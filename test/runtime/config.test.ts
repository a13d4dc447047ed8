import test from 'ava';
import { ConfigError, Job, JobFailedError, collectSink, fromArray, tumbling, type DeadLetter } from '../../lib/index.js';
import { jobDirectory, testJob } from '../helpers/jobs.js';

test('bad job options raise ConfigError naming the offending field', (t) => {
  const cases: [unknown, RegExp][] = [
    [{ parallelism: 0 }, /^parallelism: expected an integer from 1 to 4096, found 0$/],
    [{ recovery: { mode: 'sometimes' } }, /^recovery\.mode: expected/],
    [{ recovery: { checkpointIntervalMs: -5 } }, /^recovery\.checkpointIntervalMs:/],
    [{ recovery: { dsd: -2 } }, /^recovery\.dsd:/],
    [{ recovery: { standbys: 1.5 } }, /^recovery\.standbys:/],
    [{ recovery: { intervall: 5 } }, /^recovery\.intervall:/],
    [{ batchSize: 'big' }, /^batchSize:/],
    [{ remoteChannelCapacity: 0 }, /^remoteChannelCapacity: expected an integer from 1 to 65536, found 0$/],
    [{ stateBackend: 'redis' }, /^stateBackend:/],
    [{ inflightRetention: 'bytes' }, /^inflightRetention: expected "references" or "encoded", found "bytes"$/],
    [{ name: 'no spaces please' }, /^name:/],
    [{ errors: { policy: 'dead-letter' } }, /^errors\.deadLetter:/],
    [{ paralelism: 2 }, /^paralelism: expected one of the options/],
  ];
  for (const [options, message] of cases) {
    const error = t.throws(() => new Job(options as never), { instanceOf: ConfigError });
    t.regex(error!.message, message);
  }
});

test('bad operator arguments raise ConfigError naming the operator and field', (t) => {
  const job = testJob(t);
  const stream = job.source(fromArray([1]));
  t.throws(() => stream.map('x' as never), { instanceOf: ConfigError, message: /^map: expected a function/ });
  t.throws(() => stream.map((x) => x, { name: 'm', parallelism: 0 }), { instanceOf: ConfigError, message: /^m\.parallelism:/ });
  t.throws(() => stream.keyBy((x) => x).window(tumbling(0)), { instanceOf: ConfigError, message: /^tumbling\.size:/ });
  t.throws(() => stream.process({} as never), { instanceOf: ConfigError, message: /^process\.processElement:/ });
  t.throws(() => job.source(fromArray([1, 2]), { parallelism: 5 }), { instanceOf: ConfigError, message: /parallelism: expected an integer from 1 to the source's 1 partitions/ });
  stream.map((x) => x, { name: 'twice' }).collect();
  t.throws(() => stream.map((x) => x, { name: 'twice' }), { instanceOf: ConfigError, message: /name: expected a name not used yet/ });
});

test('a job without a sink is refused before it runs', async (t) => {
  const job = testJob(t);
  job.source(fromArray([1])).map((x) => x);
  await t.throwsAsync(job.run(), { instanceOf: ConfigError, message: /at least one sink/ });
});

test('forward partitioning between different parallelisms is refused at planning', async (t) => {
  const job = testJob(t, { parallelism: 2 });
  job.source(fromArray([1, 2], { partitions: 2 })).forward().map((x) => x, { parallelism: 3 }).collect();
  await t.throwsAsync(job.run(), { instanceOf: ConfigError, message: /forward only between equal parallelism/ });
});

test('a poison record fails the job in mode none, with the operator and the cause in the error', async (t) => {
  const job = testJob(t);
  job
    .source(fromArray([1, 2, 0, 4]))
    .map((n) => {
      if (n === 0) throw new Error('division by zero');
      return 12 / n;
    }, { name: 'divide' })
    .collect();
  const error = await t.throwsAsync(job.run(), { instanceOf: JobFailedError });
  t.regex(error!.message, /recovery mode is "none": operator divide\[0\] threw: division by zero/);
});

test('under the dead-letter policy a poison record goes to the dead-letter sink with its error, and nothing else is lost', async (t) => {
  const deadLetter = collectSink<DeadLetter>('dead');
  const job = new Job({ directory: jobDirectory(t), errors: { policy: 'dead-letter', deadLetter } });
  const out = job
    .source(fromArray([1, 2, 0, 4, 0]))
    .map((n) => {
      if (n === 0) throw new Error('division by zero');
      return 12 / n;
    }, { name: 'divide' })
    .collect();
  const result = await job.run();
  t.deepEqual(out.results(), [12, 6, 3]);
  t.is(result.deadLetters, 2);
  t.deepEqual(
    deadLetter.results().map((d) => [d.operator, d.record, d.error]),
    [
      ['divide', 0, 'division by zero'],
      ['divide', 0, 'division by zero'],
    ],
  );
  t.is(result.recordsIn, 5);
});

test('a poison record in global-rollback mode is retried from the checkpoint and fails again: the job fails, clearly', async (t) => {
  const job = testJob(t, { recovery: { mode: 'global-rollback', checkpointIntervalMs: 50 } });
  job
    .source(fromArray([1, 0]))
    .map((n) => {
      if (n === 0) throw new Error('always fails');
      return n;
    }, { name: 'fragile' })
    .collect();
  const error = await t.throwsAsync(job.run(), { instanceOf: JobFailedError });
  t.regex(error!.message, /happened 3 times in a row .*operator fragile\[0\] threw: always fails/);
});
