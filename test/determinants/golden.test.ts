import test from 'ava';
import { readFileSync } from 'node:fs';
import { decodeEnvelope, decodeLogFile, formatEntry, inspectLog, joinSegments } from '../../determinants/index.js';
import { goldenEnvelope, goldenLogFile } from '../helpers/golden.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

test('encoding the golden logs gives exactly the committed log file (a format change must fail here)', (t) => {
  t.deepEqual(Buffer.from(goldenLogFile()), fixture('golden.cflog'));
});

test('the committed log file decodes to its readable twin', (t) => {
  const segments = decodeLogFile(fixture('golden.cflog'));
  const lines: string[] = [];
  for (const taskId of [...new Set(segments.map((s) => s.taskId))]) {
    for (const entry of inspectLog(taskId, joinSegments(segments.filter((s) => s.taskId === taskId)))) lines.push(formatEntry(entry));
  }
  t.is(`${lines.join('\n')}\n`, fixture('golden.cflog.txt').toString('utf8'));
});

test('the envelope task 7 ships is byte-identical to the committed one', (t) => {
  t.deepEqual(Buffer.from(goldenEnvelope()), fixture('golden.envelope'));
  t.is(fixture('golden.envelope.hex').toString('utf8').replace(/\s/g, ''), fixture('golden.envelope').toString('hex'));
  t.deepEqual(
    decodeEnvelope(fixture('golden.envelope')).map((s) => [s.taskId, s.epoch, s.offset, s.hops]),
    [
      [7, 1, 0, 1],
      [7, 2, 0, 1],
    ],
  );
});
