/**
 * The endpoint options of the command line, as a user runs them: `run … --metrics-port 0 --dashboard`
 * prints both addresses and the token, both answer while the job runs, and the run ends cleanly; bad
 * values are refused with a one-line reason; `--help` of run and demo lists the options.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ROOT, runCli } from '../helpers/cli.js';
import { scrape, sumOf } from './exposition.js';

test('run --metrics-port 0 --dashboard prints both addresses with the token; both answer while the job runs; the run exits 0', async (t) => {
  const child = spawn(process.execPath, [`${ROOT}bin/causalflow.js`, 'run', 'docs/examples/nexmark-q3.ts', '--duration', '6', '--metrics-port', '0', '--dashboard', '--json'], { cwd: ROOT });
  let stderr = '';
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = await new Promise<{ dashboard: string; metrics: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint lines in: ${stderr}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const dashboard = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=([0-9a-f]{32}))/.exec(stderr);
      const metrics = /metrics: +(http:\/\/127\.0\.0\.1:\d+\/metrics) +\(send "Authorization: Bearer ([0-9a-f]{32})"\)/.exec(stderr);
      if (dashboard && metrics) {
        clearTimeout(timer);
        t.is(dashboard[2], metrics[2], 'one token for both');
        resolve({ dashboard: dashboard[1]!, metrics: metrics[1]!, token: metrics[2]! });
      }
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const exposition = await scrape(lines.metrics, lines.token);
  t.true(sumOf(exposition, 'causalflow_job_records_total', { direction: 'in' }) > 0);
  const state = await (await fetch(`${new URL(lines.dashboard).origin}/api/state`, { headers: { authorization: `Bearer ${lines.token}` } })).json() as { tasks: unknown[] };
  t.true(state.tasks.length > 0, 'the dashboard state lists the tasks');
  t.is((await fetch(lines.metrics)).status, 401);
  t.is(await exited, 0, stderr);
});

test('bad endpoint arguments are refused with a one-line reason, and --help of run and demo lists the options', async (t) => {
  const bad = await runCli(['run', 'docs/examples/word-count.ts', '--metrics-port', 'abc']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /--metrics-port.*expected an integer >= 0, got "abc"/);
  const token = await runCli(['run', 'docs/examples/word-count.ts', '--metrics-port', '0', '--endpoint-token', 'short']);
  t.not(token.code, 0);
  t.regex(token.stderr, /^causalflow: endpointToken: expected a string of at least 16 characters/m);
  t.is(token.stderr.trim().split('\n').length, 1, 'one line');
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const busy = (server.address() as AddressInfo).port;
  const inUse = await runCli(['run', 'docs/examples/word-count.ts', '--metrics-port', String(busy)]);
  server.close();
  t.not(inUse.code, 0);
  t.regex(inUse.stderr, new RegExp(`^causalflow: metrics\\.port: expected a free port on 127\\.0\\.0\\.1, found ${busy}`, 'm'));
  for (const command of ['run', 'demo']) {
    const help = await runCli([command, '--help']);
    t.is(help.code, 0);
    for (const option of ['--metrics-port', '--dashboard', '--bind', '--endpoint-token']) t.true(help.stdout.includes(option), `${command} --help lists ${option}`);
  }
});
