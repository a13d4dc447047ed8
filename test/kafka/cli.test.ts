import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { lastJsonLine, runCli } from '../helpers/cli.js';
import { kafkaTest } from './helpers.js';

// `causalflow kafka start|stop|status` and `causalflow bench kafka` as a user runs them.

test('kafka and bench kafka take --help, and refuse bad arguments with a one-line reason and a non-zero exit', async (t) => {
  const help = await runCli(['kafka', '--help']);
  t.is(help.code, 0);
  for (const sub of ['start', 'stop', 'status']) t.regex(help.stdout, new RegExp(sub));
  const start = await runCli(['kafka', 'start', '--help']);
  t.regex(start.stdout, /--port/);
  const badPort = await runCli(['kafka', 'start', '--port', 'eighty']);
  t.not(badPort.code, 0);
  t.regex(badPort.stderr, /expected a TCP port/);
  const bench = await runCli(['bench', 'kafka', '--help']);
  t.regex(bench.stdout, /--query/);
  const badQuery = await runCli(['bench', 'kafka', '--query', 'q8']);
  t.not(badQuery.code, 0);
  t.regex(badQuery.stderr, /expected one of q1, q3/);
});

test('kafka status in a directory without a broker says so and exits 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'causalflow-test-kafka-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const status = await runCli(['kafka', 'status', '--dir', dir, '--json']);
  t.is(status.code, 1);
  t.like(lastJsonLine(status.stdout), { kafka: 'status', running: false, brokers: null });
});

kafkaTest(
  'kafka start runs a broker that answers, status sees it, stop ends it by its pid',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'causalflow-test-kafka-cli-'));
    t.teardown(async () => {
      await runCli(['kafka', 'stop', '--dir', dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    const start = await runCli(['kafka', 'start', '--dir', dir, '--json'], { timeoutMs: 120_000 });
    t.is(start.code, 0, start.stderr);
    const info = lastJsonLine(start.stdout);
    t.regex(info.brokers, /^127\.0\.0\.1:\d+$/);
    t.true(info.pid > 0);
    const again = await runCli(['kafka', 'start', '--dir', dir, '--json'], { timeoutMs: 60_000 });
    t.like(lastJsonLine(again.stdout), { alreadyRunning: true, pid: info.pid });
    const status = await runCli(['kafka', 'status', '--dir', dir, '--json']);
    t.is(status.code, 0);
    t.like(lastJsonLine(status.stdout), { running: true, answering: true, brokers: info.brokers });
    const stop = await runCli(['kafka', 'stop', '--dir', dir, '--json'], { timeoutMs: 60_000 });
    t.like(lastJsonLine(stop.stdout), { wasRunning: true, pid: info.pid });
    const after = await runCli(['kafka', 'status', '--dir', dir]);
    t.is(after.code, 1);
  },
  { serial: true },
);
