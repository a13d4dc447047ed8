import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeterminantStore } from '../../determinants/index.js';
import { ROOT, lastJsonLine, runCli } from '../helpers/cli.js';

const fixture = `${ROOT}test/fixtures/golden.cflog`;

test('log inspect prints a log file as its readable twin', async (t) => {
  const result = await runCli(['log', 'inspect', fixture]);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, readFileSync(`${fixture}.txt`, 'utf8'));
});

test('log inspect --json puts every entry in one JSON object on the last line', async (t) => {
  const result = await runCli(['log', 'inspect', fixture, '--json', '--task', '7']);
  t.is(result.code, 0, result.stderr);
  const parsed = lastJsonLine(result.stdout);
  t.is(parsed.entries.length, 12);
  t.deepEqual(parsed.entries[7], { taskId: 7, epoch: 1, index: 7, offset: 29, kind: 'TIMER', timerId: 2, timestamp: 1763683200010, position: 260 });
});

test('log inspect reads an lmdb determinant store directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'causalflow-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = DeterminantStore.open({ path: dir });
  await store.append(4, 0, 0, new Uint8Array([0x91]));
  await store.close();
  const result = await runCli(['log', 'inspect', dir]);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, 'task 4 epoch 0 #0 @0 ORDER channel=1 count=2\n');
});

test('log inspect of a corrupt file exits non-zero with the last good offset, printing nothing else', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'causalflow-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = readFileSync(fixture);
  writeFileSync(join(dir, 'torn.cflog'), bytes.subarray(0, bytes.length - 4));
  const result = await runCli(['log', 'inspect', join(dir, 'torn.cflog')]);
  t.is(result.code, 2);
  t.regex(result.stderr, /^causalflow: .*last good offset \d+/);
  t.is(result.stdout, '');
  writeFileSync(join(dir, 'not-a-log'), 'hello');
  const notLog = await runCli(['log', 'inspect', join(dir, 'not-a-log')]);
  t.is(notLog.code, 2);
  t.regex(notLog.stderr, /a causalflow log file/);
});

test('every command takes --help, and bad arguments exit non-zero with a one-line reason', async (t) => {
  for (const args of [['--help'], ['log', 'inspect', '--help'], ['bench', 'determinants', '--help'], ['bench', '--help']]) {
    const result = await runCli(args);
    t.is(result.code, 0, args.join(' '));
    t.regex(result.stdout, /Usage: causalflow/);
  }
  const bad = await runCli(['bench', 'determinants', '--seconds', 'soon']);
  t.not(bad.code, 0);
  t.regex(bad.stderr.split('\n')[0]!, /expected a number > 0, got "soon"/);
  const missing = await runCli(['log', 'inspect']);
  t.not(missing.code, 0);
  t.regex(missing.stderr, /missing required argument 'file'/);
});

test('bench determinants --json ends stdout with the contract fields (figures not asserted)', async (t) => {
  const result = await runCli(['bench', 'determinants', '--seconds', '0.5', '--json'], { timeoutMs: 60_000 });
  t.is(result.code, 0, result.stderr);
  const parsed = lastJsonLine(result.stdout);
  t.is(parsed.bench, 'determinants');
  for (const field of ['appendsPerSec', 'orderBytesPerRecordBatched', 'orderBytesPerRecordInterleaved', 'shipMBps']) {
    t.is(typeof parsed[field], 'number', field);
    t.true(parsed[field] > 0, field);
  }
  t.is(parsed.node, process.version);
});
