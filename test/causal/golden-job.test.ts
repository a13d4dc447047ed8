import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { decodeLogFile, inspectLog } from '../../determinants/index.js';
import { goldenJob, outputLines } from '../helpers/golden-job.js';
import { jobDirectory } from '../helpers/jobs.js';

// The golden job's traces were recorded once, from a run with a kill (`npm run fixtures`). Replaying them
// through the public API must give the recorded output, record for record, on any machine and at any
// speed: the trace, not the clock or the scheduler, decides every nondeterministic choice.

const fixtures = new URL('../fixtures/golden-job/', import.meta.url);

function loadTraces(): Map<number, { epoch: number; bytes: Uint8Array }[]> {
  const traces = new Map<number, { epoch: number; bytes: Uint8Array }[]>();
  for (const segment of decodeLogFile(new Uint8Array(readFileSync(new URL('traces.cflog', fixtures))))) {
    if (segment.offset !== 0) throw new Error(`golden segment of task ${segment.taskId} epoch ${segment.epoch} does not start its epoch`);
    const list = traces.get(segment.taskId) ?? [];
    list.push({ epoch: segment.epoch, bytes: segment.bytes });
    traces.set(segment.taskId, list);
  }
  return traces;
}

test('the golden traces replayed through Job.replay() give the recorded output, record for record', async (t) => {
  const { job, sink } = goldenJob({ directory: join(jobDirectory(t), 'replay'), recovery: { mode: 'exactly-once', checkpointIntervalMs: 30 } });
  t.deepEqual(
    job.plan().tasks.map((task) => task.name),
    JSON.parse(readFileSync(new URL('tasks.json', fixtures), 'utf8')),
    'the golden job still plans the same tasks',
  );
  const handle = await job.replay(loadTraces());
  await handle.done;
  const expected = readFileSync(new URL('output.jsonl', fixtures), 'utf8').trimEnd().split('\n');
  t.deepEqual(outputLines(sink), expected);
});

test('the golden traces exercise every runtime and service determinant kind the job can make', (t) => {
  const kinds = new Set<string>();
  for (const [taskId, segments] of loadTraces()) for (const entry of inspectLog(taskId, segments)) kinds.add(entry.determinant.kind);
  for (const kind of ['ORDER', 'CLOCK', 'RANDOM_SEED', 'TIMER', 'EXTERNAL', 'SOURCE_POLL', 'SOURCE_BARRIER', 'ABORT_CHECKPOINT']) t.true(kinds.has(kind), kind);
});
